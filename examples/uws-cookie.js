'use strict';
// uWebSockets.js + hotsession with the whole session sealed in the cookie
// (AES-256-GCM): no server state at all.
//   COOKIE_SECRET=... PORT=3000 node examples/uws-cookie.js
//   curl -c jar -b jar http://127.0.0.1:3000/          counts your visits
//   curl -c jar -b jar http://127.0.0.1:3000/login?user=ada
const uWS = require('uWebSockets.js');
const { CookieStore } = require('hotsession/cookie');
const { sessions, commit } = require('hotsession/uws');

const store = new CookieStore({
  // At least 32 bytes; in production 32 random bytes from a secret manager.
  secret: process.env.COOKIE_SECRET || 'change me: a long random string of 32+ characters',
});
const withSession = sessions('sid', store, {
  secret: process.env.SESSION_SECRET || 'change me: a long random string',
  cookie: { maxAge: 7 * 24 * 3600 * 1000 },
});

const app = uWS.App();

app.get('/', withSession((res, req, session) => {
  const views = (session.get('views') || 0) + 1;
  session.set('views', views);
  return `hello ${session.get('user') || 'stranger'}, visit ${views}\n`;
}));

app.get('/login', withSession(async (res, req, session) => {
  const user = req.getQuery('user') || 'anonymous';
  await session.regenerate();
  session.set('user', user);
  return { status: 303, headers: { location: '/' } };
}));

// A handler may write res itself: it sends the cookies commit() gives it
// (synchronous with the cookie store) before ending the response.
app.get('/raw', withSession((res, req, session) => {
  session.set('raw', Date.now());
  const cookies = commit(session);
  res.writeStatus('200 OK').writeHeader('content-type', 'text/plain');
  for (const c of cookies) res.writeHeader('set-cookie', c);
  res.end(`raw visit at ${session.get('raw')}\n`);
}));

const host = process.env.HOST || '127.0.0.1';
app.listen(host, Number(process.env.PORT ?? 3000), (token) => {
  if (!token) {
    console.error(`could not listen on ${host}:${process.env.PORT ?? 3000}`);
    process.exit(1);
  }
  console.log(`hotsession uWS cookie-store example listening on http://${host}:${uWS.us_socket_local_port(token)}/`);
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      uWS.us_listen_socket_close(token);
      if (typeof app.close === 'function') app.close();
    });
  }
});
