'use strict';
// node:http + hotsession: an account page listing the user's devices, with
// "log out this device", "log out my other devices" and "log out everywhere".
//   PORT=3000 node examples/users-http.js
//   curl -c jar -b jar 'http://127.0.0.1:3000/login?user=ada'    (from several jars: several devices)
//   curl -c jar -b jar http://127.0.0.1:3000/                    your devices
//   curl -c jar -b jar 'http://127.0.0.1:3000/revoke?h=<handle>'
//   curl -c jar -b jar http://127.0.0.1:3000/revoke-others
//   curl -c jar -b jar http://127.0.0.1:3000/logout-everywhere
const http = require('node:http');
const { MemoryStore } = require('hotsession');
const { sessions, getSession } = require('hotsession/http');

const store = new MemoryStore();
const options = {
  secret: process.env.SESSION_SECRET || 'change me: a long random string',
  cookie: { maxAge: 24 * 3600 * 1000, secure: false }, // secure: false only for this plain-http demo
};
const withSession = sessions('sid', store, options);
// The account API: the session's own manager (sessionsOf, revokeSession, revokeUser).
const accounts = withSession.manager;

async function page(session) {
  const views = (session.get('views') || 0) + 1;
  session.set('views', views);
  if (session.userId === undefined) return `hello stranger, visit ${views}: /login?user=ada\n`;
  const devices = await accounts.sessionsOf(session.userId);
  const lines = devices.map((d) => {
    const mark = d.handle === session.handle ? '  (this device)' : '';
    const seen = new Date(d.lastSeenAt).toISOString();
    return `  ${d.handle}  ${d.meta?.userAgent ?? '?'}  since ${new Date(d.createdAt).toISOString()}, seen ${seen}${mark}`;
  });
  return `hello ${session.userId}, visit ${views}; your devices:\n${lines.join('\n')}\n`;
}

const server = http.createServer((req, res) => {
  withSession(req, res, async (err) => {
    if (err) {
      res.statusCode = 503;
      return res.end('session store unavailable\n');
    }
    const session = getSession(req);
    const url = new URL(req.url, 'http://localhost');
    res.setHeader('content-type', 'text/plain; charset=utf-8');
    try {
      switch (url.pathname) {
        case '/login':
          // A new id (fixation defence), the user, and what we know of the device (opt-in).
          await session.login(url.searchParams.get('user') || 'ada', { userAgent: req.headers['user-agent'] ?? null });
          return res.end(`logged in as ${session.userId}\n`);
        case '/revoke':
          if (session.userId === undefined) break;
          await accounts.revokeSession(session.userId, url.searchParams.get('h') || '');
          return res.end('that device is logged out\n');
        case '/revoke-others':
          if (session.userId === undefined) break;
          return res.end(`${await accounts.revokeUser(session.userId, { except: session.handle })} other devices logged out\n`);
        case '/logout-everywhere':
          if (session.userId === undefined) break;
          await accounts.revokeUser(session.userId);
          return res.end('logged out everywhere\n');
        case '/logout':
          await session.destroy();
          return res.end('bye\n');
        default:
          return res.end(await page(session));
      }
      res.statusCode = 401;
      res.end('log in first\n');
    } catch (e) {
      res.statusCode = 500;
      res.end(`error: ${e.code ?? e.message}\n`);
    }
  });
});

server.listen(Number(process.env.PORT ?? 3000), process.env.HOST || '127.0.0.1', () => {
  const { address, port } = server.address();
  console.log(`hotsession users example listening on http://${address}:${port}/`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    server.close();
    server.closeAllConnections();
    store.close();
  });
}
