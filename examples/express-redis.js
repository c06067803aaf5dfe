'use strict';
// Express + hotsession/express on a hotsession RedisStore (batched, pipelined).
// Moving from express-session + connect-redis: keep the secret, the cookie
// name and connect-redis's prefix ('sess:' by default) and everybody stays
// logged in: their records are read as they are, and rewritten as hotsession
// records on the next save.
//   REDIS_URL=redis://127.0.0.1:6379 PORT=8080 node examples/express-redis.js
//   curl -c jar -b jar http://127.0.0.1:3000/
const express = require('express');
const session = require('hotsession/express');
const { RedisStore } = require('hotsession/redis');

const store = RedisStore.connect(process.env.REDIS_URL || 'redis://127.0.0.1:6379', {
  prefix: 'sess:example:',
  timeout: 1000,
});

const app = express();
app.use(session({
  store, // a hotsession store is wrapped for the express-session API automatically
  secret: process.env.SESSION_SECRET || 'change me: a long random string',
  resave: false,
  saveUninitialized: false,
  rolling: true,
  cookie: { maxAge: 24 * 3600 * 1000 },
  // serializer: 'msgpack', // faster and keeps Dates; see ExpressStoreOptions for the difference
}));

app.get('/', (req, res) => {
  req.session.views = (req.session.views || 0) + 1;
  res.type('text/plain').send(`visit ${req.session.views}\n`);
});

// Store failures reach Express's error handling, as with express-session.
app.use((err, req, res, next) => {
  void next;
  res.status(503).type('text/plain').send('session store unavailable\n');
});

const server = app.listen(Number(process.env.PORT ?? 3000), process.env.HOST || '127.0.0.1', () => {
  const { address, port } = server.address();
  console.log(`hotsession/express redis example listening on http://${address}:${port}/`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    server.close();
    server.closeAllConnections();
    store.close();
  });
}
