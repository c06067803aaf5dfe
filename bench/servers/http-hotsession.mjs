// node:http + hotsession/http, store chosen by HS_STORE. HS_ASYNC=1 makes
// the route an async function that awaits once before reading the session.
import http from 'node:http';
import { fatal, HOST, need, nextUser, onStop, PORT, ready, STORE } from './common.mjs';
import { hotsessionStore, sessionOptions } from './hotsession-stores.mjs';

const { sessions, getSession } = await need('hotsession/http');
let built;
try {
  built = await hotsessionStore(STORE);
} catch (err) {
  fatal(err);
}
const mw = sessions('sid', built.store, sessionOptions);

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'text/plain' });
  res.end(body);
}

function route(req, res) {
  const session = getSession(req);
  switch (req.url) {
    case '/login':
      session.set('user', nextUser());
      session.set('n', 0);
      return send(res, 200, 'ok');
    case '/read': {
      const user = session.get('user');
      return user === undefined ? send(res, 401, 'no session') : send(res, 200, user);
    }
    case '/write': {
      if (session.get('user') === undefined) return send(res, 401, 'no session');
      const n = (session.get('n') ?? 0) + 1;
      session.set('n', n);
      return send(res, 200, String(n));
    }
    default:
      return send(res, 404, 'not found');
  }
}

const wait = process.env.HS_ASYNC === '1';
async function routeLater(req, res) {
  await null;
  route(req, res);
}
const handle = wait ? routeLater : route;

const server = http.createServer((req, res) => mw(req, res, (err) => (err ? send(res, 503, 'store unavailable') : handle(req, res))));
server.keepAliveTimeout = 60_000;
server.listen(PORT, HOST, () => ready(server.address().port));
onStop(() => built.close());
