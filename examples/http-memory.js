'use strict';
// node:http + hotsession on the memory store.
//   npm start            (or: PORT=8080 node examples/http-memory.js)
//   curl -c jar -b jar http://127.0.0.1:3000/          counts your visits
//   curl -c jar -b jar http://127.0.0.1:3000/login?user=ada
const http = require('node:http');
const { MemoryStore } = require('hotsession');
const { sessions, getSession } = require('hotsession/http');

const store = new MemoryStore();
const withSession = sessions('sid', store, {
  secret: process.env.SESSION_SECRET || 'change me: a long random string',
  cookie: { maxAge: 24 * 3600 * 1000 },
});

const server = http.createServer((req, res) => {
  withSession(req, res, async (err) => {
    if (err) {
      res.statusCode = 503;
      return res.end('session store unavailable\n');
    }
    const session = getSession(req);
    const url = new URL(req.url, 'http://localhost');
    if (url.pathname === '/login') {
      await session.regenerate(); // new id on login: session fixation defence
      session.set('user', url.searchParams.get('user') || 'anonymous');
      session.addFlash('welcome!');
      return res.end('logged in\n');
    }
    if (url.pathname === '/logout') {
      await session.destroy();
      return res.end('bye\n');
    }
    const views = (session.get('views') || 0) + 1;
    session.set('views', views);
    const flashes = session.flashes();
    res.setHeader('content-type', 'text/plain');
    res.end(`hello ${session.get('user') || 'stranger'}, visit ${views}${flashes.length ? ` (${flashes.join(', ')})` : ''}\n`);
  });
});

server.listen(Number(process.env.PORT ?? 3000), process.env.HOST || '127.0.0.1', () => {
  const { address, port } = server.address();
  console.log(`hotsession example listening on http://${address}:${port}/`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    server.close();
    server.closeAllConnections();
    store.close();
  });
}
