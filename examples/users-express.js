'use strict';
// Express + hotsession/express: an account page listing the user's devices,
// with "log out this device", "log out my other devices" and "log out everywhere".
//   PORT=3000 node examples/users-express.js
//   curl -c jar -b jar 'http://127.0.0.1:3000/login?user=ada'    (from several jars: several devices)
//   curl -c jar -b jar http://127.0.0.1:3000/                    your devices
//   curl -c jar -b jar 'http://127.0.0.1:3000/revoke?h=<handle>'
//   curl -c jar -b jar http://127.0.0.1:3000/revoke-others
//   curl -c jar -b jar http://127.0.0.1:3000/logout-everywhere
const express = require('express');
const session = require('hotsession/express');
const { MemoryStore } = require('hotsession');

// A hotsession store (it keeps the per-user index): MemoryStore, SharedMemoryStore,
// RedisStore, MemcachedStore or MongoStore.
const store = new MemoryStore();
const sessions = session({
  secret: process.env.SESSION_SECRET || 'change me: a long random string',
  resave: false,
  saveUninitialized: false,
  cookie: { maxAge: 24 * 3600 * 1000, sameSite: 'lax' },
  store,
});
// The account API: the middleware's own manager (sessionsOf, revokeSession, revokeUser).
const accounts = sessions.manager;

const app = express();
app.use(sessions);

const needUser = (req, res, next) => (session.userOf(req) ? next() : res.status(401).type('text/plain').send('log in first\n'));

app.get('/login', async (req, res, next) => {
  try {
    // A new id (fixation defence), a new session bound to the user, and what we know of the device (opt-in).
    await session.login(req, req.query.user || 'ada', { userAgent: req.get('user-agent') ?? null });
    res.type('text/plain').send(`logged in as ${session.userOf(req).userId}\n`);
  } catch (err) {
    next(err);
  }
});

app.get('/revoke', needUser, async (req, res) => {
  await accounts.revokeSession(session.userOf(req).userId, String(req.query.h || ''));
  res.type('text/plain').send('that device is logged out\n');
});

app.get('/revoke-others', needUser, async (req, res) => {
  const me = session.userOf(req);
  res.type('text/plain').send(`${await accounts.revokeUser(me.userId, { except: me.handle })} other devices logged out\n`);
});

app.get('/logout-everywhere', needUser, async (req, res) => {
  await accounts.revokeUser(session.userOf(req).userId);
  res.type('text/plain').send('logged out everywhere\n');
});

app.get('/logout', (req, res, next) => {
  // destroy() also takes the session off its user's list.
  req.session.destroy((err) => (err ? next(err) : res.type('text/plain').send('bye\n')));
});

app.get('/', async (req, res) => {
  req.session.views = (req.session.views || 0) + 1;
  const me = session.userOf(req);
  res.type('text/plain');
  if (me === null) return res.send(`hello stranger, visit ${req.session.views}: /login?user=ada\n`);
  const devices = await accounts.sessionsOf(me.userId);
  const lines = devices.map((d) => {
    const mark = d.handle === me.handle ? '  (this device)' : '';
    return `  ${d.handle}  ${d.meta?.userAgent ?? '?'}  since ${new Date(d.createdAt).toISOString()}, seen ${new Date(d.lastSeenAt).toISOString()}${mark}`;
  });
  res.send(`hello ${me.userId}, visit ${req.session.views}; your devices:\n${lines.join('\n')}\n`);
});

const server = app.listen(Number(process.env.PORT ?? 3000), process.env.HOST || '127.0.0.1', () => {
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
