'use strict';
// node:http + hotsession with the whole session sealed in the cookie: no
// backend at all. AES-256-GCM by default; `mode: 'signed'` for a readable one.
//   PORT=8080 node examples/cookie-store.js
//   curl -c jar -b jar http://127.0.0.1:3000/              counts your visits
//   curl -c jar -b jar http://127.0.0.1:3000/login?user=ada
// In production give COOKIE_SECRET 32+ random bytes, e.g.
//   node -e "console.log(require('crypto').randomBytes(32).toString('base64url'))"
// and rotate by listing a new secret first: secrets: [newSecret, oldSecret].
const http = require('node:http');
const { CookieStore } = require('hotsession/cookie');
const { sessions, getSession } = require('hotsession/http');

const store = new CookieStore({
  secret: process.env.COOKIE_SECRET || 'change me: at least 32 random characters!!',
  mode: 'sealed',
});
const withSession = sessions('sid', store, {
  secret: process.env.SESSION_SECRET || 'change me: a long random string',
  // The expiry is sealed inside the cookie too: a copy kept past it opens nothing.
  cookie: { maxAge: 24 * 3600 * 1000 },
});

const server = http.createServer((req, res) => {
  withSession(req, res, async (err) => {
    if (err) {
      res.statusCode = 500;
      return res.end('session error\n');
    }
    const session = getSession(req);
    const url = new URL(req.url, 'http://localhost');
    res.setHeader('content-type', 'text/plain');
    if (url.pathname === '/login') {
      await session.regenerate();
      session.set('user', url.searchParams.get('user') || 'anonymous');
      return res.end('logged in\n');
    }
    if (url.pathname === '/logout') {
      // No server state: this only sends an empty cookie. A copy of the old
      // cookie stays valid until its maxAge runs out (or the keys rotate).
      await session.destroy();
      return res.end('bye\n');
    }
    const views = (session.get('views') || 0) + 1;
    session.set('views', views);
    session.set('lastVisit', new Date());
    res.end(`hello ${session.get('user') || 'stranger'}, visit ${views}\n`);
  });
});

server.listen(Number(process.env.PORT ?? 3000), process.env.HOST || '127.0.0.1', () => {
  const { address, port } = server.address();
  console.log(`hotsession cookie-store example listening on http://${address}:${port}/`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    server.close();
    server.closeAllConnections();
  });
}
