'use strict';
// uWebSockets.js on every core: one uWS App per worker thread, all listening
// on one port, and one SharedMemoryStore shared by all the threads, so a
// session written through one thread is there for every other.
//   PORT=3000 node examples/uws-shared-memory.js      (THREADS=4 to choose the count)
//   curl -c jar -b jar http://127.0.0.1:3000/          counts your visits, says which thread answered
//   curl -c jar -b jar http://127.0.0.1:3000/login?user=ada
//   curl -c jar -b jar http://127.0.0.1:3000/logout
//
// One port for many threads: this uWS build listens with SO_REUSEPORT on an
// explicit port (not on port 0), and Linux spreads incoming connections over
// the threads' listen sockets (other systems do not balance them; newer uWS
// builds have an acceptor app that hands sockets to the workers' apps
// instead). Threads of one process only: node:cluster workers and PM2
// instances are processes and need RedisStore.
const net = require('node:net');
const os = require('node:os');
const { Worker, isMainThread, parentPort, threadId, workerData } = require('node:worker_threads');
const { SharedMemoryStore } = require('hotsession');

const TABLE = 'sessions';
const host = process.env.HOST || '127.0.0.1';

if (isMainThread) {
  // The table must exist before the workers start: they find it by its name.
  const store = new SharedMemoryStore({ name: TABLE, maxBytes: 256 * 2 ** 20 });
  const threads = Number(process.env.THREADS) || os.availableParallelism();
  const workers = [];
  const start = (port) => new Promise((resolve, reject) => {
    const w = new Worker(__filename, { workerData: { port } });
    workers.push(w);
    w.once('error', reject);
    w.once('message', (m) => (m.port ? resolve(m.port) : reject(new Error(m.error))));
  });
  // A thread must close its uWS app before it ends (the process aborts otherwise).
  const stop = () => Promise.all(workers.map((w) => new Promise((resolve) => {
    w.once('exit', resolve);
    w.postMessage('close');
  }))).then(() => store.close());
  (async () => {
    let port = Number(process.env.PORT ?? 3000);
    // PORT=0: any free port, chosen here so that every thread can bind it.
    if (port === 0) port = await freePort();
    for (let i = 0; i < threads; i++) await start(port);
    console.log(`hotsession uWS example, ${threads} threads, one session table, listening on http://${host}:${port}/`);
  })().catch((err) => {
    console.error(err.message);
    stop().then(() => process.exit(1));
  });
  for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, stop);

  function freePort() {
    return new Promise((resolve, reject) => {
      const probe = net.createServer().once('error', reject);
      probe.listen(0, host, () => {
        const { port } = probe.address();
        probe.close(() => resolve(port));
      });
    });
  }
} else {
  const uWS = require('uWebSockets.js');
  const { sessions } = require('hotsession/uws');
  // Same name, same table: whatever thread serves a request sees every session.
  const store = new SharedMemoryStore({ name: TABLE });
  const withSession = sessions('sid', store, {
    secret: process.env.SESSION_SECRET || 'change me: a long random string',
    cookie: { maxAge: 24 * 3600 * 1000 },
  });
  const app = uWS.App();

  // A synchronous handler on SharedMemoryStore is served without a single await.
  app.get('/', withSession((res, req, session) => {
    const views = (session.get('views') || 0) + 1;
    session.set('views', views);
    const flashes = session.flashes();
    return {
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      body: `hello ${session.get('user') || 'stranger'}, visit ${views} (thread ${threadId})${flashes.length ? ` (${flashes.join(', ')})` : ''}\n`,
    };
  }));

  app.get('/login', withSession(async (res, req, session) => {
    const user = req.getQuery('user') || 'anonymous'; // read req before the first await
    await session.regenerate(); // new id on login: session fixation defence
    session.set('user', user);
    session.addFlash('welcome!');
    return 'logged in\n';
  }));

  app.get('/logout', withSession(async (res, req, session) => {
    await session.destroy();
    return 'bye\n';
  }));

  app.listen(host, workerData.port, (token) => {
    if (!token) {
      parentPort.postMessage({ error: `could not listen on ${host}:${workerData.port}` });
      return parentPort.once('message', () => parentPort.close());
    }
    parentPort.postMessage({ port: uWS.us_socket_local_port(token) });
    parentPort.once('message', () => {
      uWS.us_listen_socket_close(token);
      app.close();
      parentPort.close();
    });
  });
}
