'use strict';
// uWebSockets.js + hotsession on the memory store.
//   PORT=3000 node examples/uws-memory.js
//   curl -c jar -b jar http://127.0.0.1:3000/          counts your visits
//   curl -c jar -b jar http://127.0.0.1:3000/login?user=ada
//   curl -c jar -b jar http://127.0.0.1:3000/logout
// The adapter never loads uWebSockets.js itself: bring your own build.
const uWS = require('uWebSockets.js');
const { MemoryStore } = require('hotsession');
const { sessions } = require('hotsession/uws');

const store = new MemoryStore();
const withSession = sessions('sid', store, {
  secret: process.env.SESSION_SECRET || 'change me: a long random string',
  cookie: { maxAge: 24 * 3600 * 1000 },
});

const app = uWS.App();

// A synchronous handler on the memory store is served without a single await.
app.get('/', withSession((res, req, session) => {
  const views = (session.get('views') || 0) + 1;
  session.set('views', views);
  const flashes = session.flashes();
  return {
    headers: { 'content-type': 'text/plain; charset=utf-8' },
    body: `hello ${session.get('user') || 'stranger'}, visit ${views}${flashes.length ? ` (${flashes.join(', ')})` : ''}\n`,
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

const host = process.env.HOST || '127.0.0.1';
app.listen(host, Number(process.env.PORT ?? 3000), (token) => {
  if (!token) {
    console.error(`could not listen on ${host}:${process.env.PORT ?? 3000}`);
    process.exit(1);
  }
  console.log(`hotsession uWS example listening on http://${host}:${uWS.us_socket_local_port(token)}/`);
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      uWS.us_listen_socket_close(token);
      if (typeof app.close === 'function') app.close();
      store.close();
    });
  }
});
