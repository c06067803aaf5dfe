'use strict';
// node:http + hotsession on memcached (memjs; pipelined per-turn write bursts).
//   MEMCACHED_SERVERS=127.0.0.1:11211 PORT=8080 node examples/http-memcached.js
//   curl -c jar -b jar http://127.0.0.1:3000/          counts your visits
//   curl -c jar -b jar http://127.0.0.1:3000/login?user=ada
// Several servers: MEMCACHED_SERVERS=10.0.0.1:11211,10.0.0.2:11211 (keys are
// spread by hash). Stop memcached while it runs: requests get a 503 at once
// (or within `timeout` if it hangs), and work again once it is back.
const http = require('node:http');
const { MemcachedStore } = require('hotsession/memcached');
const { sessions, getSession } = require('hotsession/http');

const store = new MemcachedStore({
  servers: process.env.MEMCACHED_SERVERS || '127.0.0.1:11211',
  prefix: 'sess:example:',
  timeout: 1000,
  // legacy: 'read',   // also read sessions connect-memcached wrote (same prefix)
});
const withSession = sessions('sid', store, {
  secret: process.env.SESSION_SECRET || 'change me: a long random string',
  rolling: true,
  cookie: { maxAge: 24 * 3600 * 1000 },
});

const server = http.createServer((req, res) => {
  withSession(req, res, async (err) => {
    if (err) {
      res.statusCode = err.status || 503;
      return res.end('session store unavailable\n');
    }
    const session = getSession(req);
    const url = new URL(req.url, 'http://localhost');
    try {
      if (url.pathname === '/login') {
        await session.regenerate(); // new id on login: session fixation defence
        session.set('user', url.searchParams.get('user') || 'anonymous');
        return res.end('logged in\n');
      }
      if (url.pathname === '/logout') {
        await session.destroy();
        return res.end('bye\n');
      }
    } catch {
      res.statusCode = 503;
      return res.end('session store unavailable\n');
    }
    const views = (session.get('views') || 0) + 1;
    session.set('views', views);
    res.setHeader('content-type', 'text/plain');
    // The response waits for memcached to acknowledge the save (503 if it cannot).
    res.end(`hello ${session.get('user') || 'stranger'}, visit ${views}\n`);
  });
});

server.listen(Number(process.env.PORT ?? 3000), process.env.HOST || '127.0.0.1', () => {
  const { address, port } = server.address();
  console.log(`hotsession memcached example listening on http://${address}:${port}/`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    server.close();
    server.closeAllConnections();
    store.close();
  });
}
