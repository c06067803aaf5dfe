// uWebSockets.js + hotsession/uws on one SharedMemoryStore, served by
// HS_THREADS worker threads (one uWS app each, all on one port: uWS listens
// with SO_REUSEPORT on an explicit port and Linux spreads connections), or by
// the main thread itself when HS_THREADS=0. Same routes as uws-hotsession.mjs.
import net from 'node:net';
import { Worker, isMainThread, parentPort, threadId, workerData } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { cjs, fatal, HOST, need, onStop, PORT, ready, skip } from './common.mjs';
import { sessionOptions } from './hotsession-stores.mjs';

const TABLE = 'bench-sessions';
const { SharedMemoryStore } = await need('hotsession');

/** One app on `port` (0: any); resolves to its port and a close(). */
async function serve(port) {
  const uWS = cjs(await need('uWebSockets.js'));
  const { sessions } = await need('hotsession/uws');
  const store = new SharedMemoryStore({ name: TABLE });
  const withSession = sessions('sid', store, sessionOptions);
  const text = { 'content-type': 'text/plain' };
  const noSession = { status: 401, headers: text, body: 'no session' };
  let users = 0;
  const app = uWS.App()
    .get('/login', withSession((res, req, session) => {
      session.set('user', `u${threadId}.${++users}`);
      session.set('n', 0);
      return { status: 200, headers: text, body: 'ok' };
    }))
    .get('/read', withSession((res, req, session) => {
      const user = session.get('user');
      return user === undefined ? noSession : { status: 200, headers: text, body: user };
    }))
    .get('/write', withSession((res, req, session) => {
      if (session.get('user') === undefined) return noSession;
      const n = (session.get('n') ?? 0) + 1;
      session.set('n', n);
      return { status: 200, headers: text, body: String(n) };
    }));
  return new Promise((resolve) => {
    app.listen(HOST, port, (token) => {
      if (!token) return resolve(null);
      resolve({ port: uWS.us_socket_local_port(token), close: () => { uWS.us_listen_socket_close(token); app.close(); } });
    });
  });
}

if (!isMainThread) {
  const srv = await serve(workerData.port);
  parentPort.postMessage(srv === null ? { error: `uWS could not listen on ${HOST}:${workerData.port}` } : { port: srv.port });
  // A uWS app must be closed before its thread ends (terminating a thread with
  // an open app aborts the process in this uWS build).
  parentPort.on('message', () => { srv?.close(); parentPort.close(); });
} else {
  const threads = Number(process.env.HS_THREADS ?? 2);
  // The rule: the table exists before the workers that use it start.
  const table = new SharedMemoryStore({ name: TABLE, maxBytes: 256 * 2 ** 20 });
  if (threads === 0) {
    const srv = await serve(PORT);
    if (srv === null) skip(`uWS could not listen on ${HOST}:${PORT}`);
    ready(srv.port);
    onStop(() => srv.close());
  } else {
    const workers = [];
    const start = (port) => new Promise((resolve, reject) => {
      const w = new Worker(fileURLToPath(import.meta.url), { workerData: { port } });
      workers.push(w);
      w.once('error', reject);
      w.once('message', (m) => (m.error ? reject(new Error(m.error)) : resolve(m.port)));
    });
    try {
      // uWS sets SO_REUSEPORT on an explicit port only: with PORT=0, pick a free one first.
      const port = PORT !== 0 ? PORT : await new Promise((resolve, reject) => {
        const probe = net.createServer().once('error', reject);
        probe.listen(0, HOST, () => {
          const { port: p } = probe.address();
          probe.close(() => resolve(p));
        });
      });
      for (let i = 0; i < threads; i++) await start(port);
      ready(port);
    } catch (err) {
      fatal(err);
    }
    onStop(() => Promise.all(workers.map((w) => new Promise((resolve) => { w.once('exit', resolve); w.postMessage('stop'); }))).then(() => table.close()));
  }
}
