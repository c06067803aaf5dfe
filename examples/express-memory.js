'use strict';
// Express + hotsession/express: express-session's API, one changed require.
//   PORT=8080 node examples/express-memory.js
//   curl -c jar -b jar http://127.0.0.1:3000/            counts your visits
//   curl -c jar -b jar http://127.0.0.1:3000/login?user=ada
const express = require('express');
const session = require('hotsession/express'); // was: require('express-session')

const app = express();
app.use(session({
  secret: process.env.SESSION_SECRET || 'change me: a long random string',
  resave: false,
  saveUninitialized: false,
  cookie: { maxAge: 24 * 3600 * 1000, sameSite: 'lax' },
  // store: defaults to session.MemoryStore (one process only)
}));

app.get('/login', (req, res, next) => {
  // A new id on login (session fixation defence), the data carried over.
  const views = req.session.views;
  req.session.regenerate((err) => {
    if (err) return next(err);
    req.session.user = req.query.user || 'anonymous';
    req.session.views = views;
    res.type('text/plain').send('logged in\n');
  });
});

app.get('/logout', (req, res, next) => {
  req.session.destroy((err) => (err ? next(err) : res.type('text/plain').send('bye\n')));
});

app.get('/', (req, res) => {
  req.session.views = (req.session.views || 0) + 1;
  res.type('text/plain').send(`hello ${req.session.user || 'stranger'}, visit ${req.session.views}\n`);
});

const server = app.listen(Number(process.env.PORT ?? 3000), process.env.HOST || '127.0.0.1', () => {
  const { address, port } = server.address();
  console.log(`hotsession/express example listening on http://${address}:${port}/`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    server.close();
    server.closeAllConnections();
  });
}
