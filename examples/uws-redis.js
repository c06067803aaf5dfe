'use strict';
// uWebSockets.js + hotsession on Redis: loads and saves go through the
// store's per-turn pipelines; the adapter registers onAborted before it waits.
//   REDIS_URL=redis://127.0.0.1:6379 PORT=3000 node examples/uws-redis.js
//   curl -c jar -b jar http://127.0.0.1:3000/                       counts your visits
//   curl -c jar -b jar -d '{"user":"ada"}' http://127.0.0.1:3000/login
// Stop Redis while it runs: requests get a 503 within the store's timeout,
// and work again once Redis is back.
const uWS = require('uWebSockets.js');
const { RedisStore } = require('hotsession/redis');
const { sessions } = require('hotsession/uws');

const store = RedisStore.connect(process.env.REDIS_URL || 'redis://127.0.0.1:6379', {
  prefix: 'sess:example-uws:',
  timeout: 1000,
});
const withSession = sessions('sid', store, {
  secret: process.env.SESSION_SECRET || 'change me: a long random string',
  cookie: { maxAge: 24 * 3600 * 1000 },
  onError: (err, source) => console.error(`${source} error: ${err.message}`),
});

/**
 * The handler runs after Redis answered, too late to attach res.onData, so
 * this `prepare` runs at once and hands the handler a promise of the body.
 */
const readBody = (limit) => (res) => new Promise((resolve, reject) => {
  const chunks = [];
  let size = 0;
  res.onData((chunk, isLast) => {
    size += chunk.byteLength;
    if (size > limit) return reject(Object.assign(new Error('body too large'), { status: 413 }));
    chunks.push(Buffer.from(chunk.slice(0))); // uWS reuses the chunk's memory
    if (isLast) resolve(Buffer.concat(chunks).toString());
  });
});

const app = uWS.App();

app.get('/', withSession((res, req, session) => {
  const views = (session.get('views') || 0) + 1;
  session.set('views', views);
  return `hello ${session.get('user') || 'stranger'}, visit ${views}\n`;
}));

app.post('/login', withSession(readBody(64 * 1024), async (res, req, session, body) => {
  let user;
  try {
    user = String(JSON.parse(await body).user || 'anonymous');
  } catch (err) {
    return { status: err.status || 400, body: 'send {"user": "..."}\n' };
  }
  await session.regenerate(); // new id on login: session fixation defence
  session.set('user', user);
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
  console.log(`hotsession uWS + Redis example listening on http://${host}:${uWS.us_socket_local_port(token)}/`);
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      uWS.us_listen_socket_close(token);
      if (typeof app.close === 'function') app.close();
      store.close();
    });
  }
});
