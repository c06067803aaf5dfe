'use strict';
// uWebSockets.js + hotsession: an account page listing the user's devices,
// with "log out this device", "log out my other devices" and "log out everywhere".
//   PORT=3000 node examples/users-uws.js
//   curl -c jar -b jar 'http://127.0.0.1:3000/login?user=ada'
//   curl -c jar -b jar http://127.0.0.1:3000/                    your devices
//   curl -c jar -b jar 'http://127.0.0.1:3000/revoke?h=<handle>'
//   curl -c jar -b jar http://127.0.0.1:3000/revoke-others
//   curl -c jar -b jar http://127.0.0.1:3000/logout-everywhere
const uWS = require('uWebSockets.js');
const { MemoryStore } = require('hotsession');
const { sessions } = require('hotsession/uws');

const store = new MemoryStore();
const options = {
  secret: process.env.SESSION_SECRET || 'change me: a long random string',
  cookie: { maxAge: 24 * 3600 * 1000, secure: false }, // secure: false only for this plain-http demo
};
const withSession = sessions('sid', store, options);
// The account API: the session's own manager (sessionsOf, revokeSession, revokeUser).
const accounts = withSession.manager;
const text = (body) => ({ headers: { 'content-type': 'text/plain; charset=utf-8' }, body });

const app = uWS.App();

app.get('/', withSession(async (res, req, session) => {
  const views = (session.get('views') || 0) + 1;
  session.set('views', views);
  if (session.userId === undefined) return text(`hello stranger, visit ${views}: /login?user=ada\n`);
  const devices = await accounts.sessionsOf(session.userId);
  const lines = devices.map((d) => `  ${d.handle}  ${d.meta?.userAgent ?? '?'}  since ${new Date(d.createdAt).toISOString()}${d.handle === session.handle ? '  (this device)' : ''}`);
  return text(`hello ${session.userId}, visit ${views}; your devices:\n${lines.join('\n')}\n`);
}));

app.get('/login', withSession(async (res, req, session) => {
  // Read req before the first await (uWS invalidates it afterwards).
  const user = req.getQuery('user') || 'ada';
  const userAgent = req.getHeader('user-agent') || null;
  await session.login(user, { userAgent });
  return text(`logged in as ${session.userId}\n`);
}));

app.get('/revoke', withSession(async (res, req, session) => {
  const handle = new URLSearchParams(req.getQuery() || '').get('h') || '';
  if (session.userId === undefined) return text('log in first\n');
  await accounts.revokeSession(session.userId, handle);
  return text('that device is logged out\n');
}));

app.get('/revoke-others', withSession(async (res, req, session) => {
  if (session.userId === undefined) return text('log in first\n');
  return text(`${await accounts.revokeUser(session.userId, { except: session.handle })} other devices logged out\n`);
}));

app.get('/logout-everywhere', withSession(async (res, req, session) => {
  if (session.userId === undefined) return text('log in first\n');
  await accounts.revokeUser(session.userId);
  return text('logged out everywhere\n');
}));

app.get('/logout', withSession(async (res, req, session) => {
  await session.destroy();
  return text('bye\n');
}));

const host = process.env.HOST || '127.0.0.1';
app.listen(host, Number(process.env.PORT ?? 3000), (token) => {
  if (!token) {
    console.error(`could not listen on ${host}:${process.env.PORT ?? 3000}`);
    process.exit(1);
  }
  console.log(`hotsession uWS users example listening on http://${host}:${uWS.us_socket_local_port(token)}/`);
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      uWS.us_listen_socket_close(token);
      if (typeof app.close === 'function') app.close();
      store.close();
    });
  }
});
