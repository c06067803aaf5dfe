'use strict';
// node:http + hotsession on MongoDB (or FerretDB): one bulkWrite per event-loop turn.
//   MONGODB_URL=mongodb://127.0.0.1:27017 PORT=8080 node examples/http-mongo.js
//   curl -c jar -b jar http://127.0.0.1:3000/          counts your visits
//   curl -c jar -b jar http://127.0.0.1:3000/login?user=ada
// Stop the server while it runs: requests get a 503 within the store's
// timeout, and work again once it is back, without a restart.
const http = require('node:http');
const { MongoStore } = require('hotsession/mongo');
const { sessions, getSession } = require('hotsession/http');

// With `url` the store creates (and closes) its own client, tuned to fail
// fast while the server is away. To bring your own client, give it
// `serverSelectionTimeoutMS` close to the store's timeout:
//   new MongoStore({ client: new MongoClient(url, { serverSelectionTimeoutMS: 1000 }) })
const store = new MongoStore({
  url: process.env.MONGODB_URL || 'mongodb://127.0.0.1:27017',
  dbName: 'hotsession_example',
  timeout: 1000,
  // The default, 'native', makes a TTL index; FerretDB has none (the store
  // would fall back to a timer with a warning), so sweep on a timer outright.
  autoRemove: 'interval',
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
    // The response waits for MongoDB to acknowledge the save (503 if it cannot).
    res.end(`hello ${session.get('user') || 'stranger'}, visit ${views}\n`);
  });
});

server.listen(Number(process.env.PORT ?? 3000), process.env.HOST || '127.0.0.1', () => {
  const { address, port } = server.address();
  console.log(`hotsession mongo example listening on http://${address}:${port}/`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    server.close();
    server.closeAllConnections();
    store.close();
  });
}
