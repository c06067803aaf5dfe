// The Express app every express-* server runs: the same three routes on
// `req.session`, the express-session API (which cookie-session and
// hotsession/express also offer).
import http from 'node:http';
import { cjs, HOST, need, nextUser, PORT, ready } from './common.mjs';

/**
 * Starts Express with `middleware` (the session layer) in front of the routes.
 * @param {Function} middleware
 */
export async function startExpress(middleware) {
  const express = cjs(await need('express'));
  const app = express();
  app.disable('x-powered-by');
  app.use(middleware);
  app.get('/login', (req, res) => {
    req.session.user = nextUser();
    req.session.n = 0;
    res.type('text/plain').send('ok');
  });
  app.get('/read', (req, res) => {
    const user = req.session?.user;
    if (user === undefined) return res.status(401).type('text/plain').send('no session');
    res.type('text/plain').send(user);
  });
  app.get('/write', (req, res) => {
    if (req.session?.user === undefined) return res.status(401).type('text/plain').send('no session');
    req.session.n = (req.session.n ?? 0) + 1;
    res.type('text/plain').send(String(req.session.n));
  });
  // Store failures: a 503 without details, like the hotsession adapters.
  app.use((err, req, res, next) => {
    void next;
    process.stderr.write(`request error: ${err?.message}\n`);
    res.status(503).type('text/plain').send('store unavailable');
  });
  const server = http.createServer(app);
  server.keepAliveTimeout = 60_000;
  server.listen(PORT, HOST, () => ready(server.address().port));
  return server;
}
