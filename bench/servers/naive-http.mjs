// node:http + the naive session layer (bench/lib/naive-layer.mjs): the floor
// the hotsession node:http rows' session cost is compared with. HS_ASYNC=1
// awaits once before the session is read, as hotsession's async rows do.
import http from 'node:http';
import { naiveLayer } from '../lib/naive-layer.mjs';
import { HOST, nextUser, PORT, ready, SECRET } from './common.mjs';

const layer = naiveLayer('sid', SECRET);
const wait = process.env.HS_ASYNC === '1';

function send(res, status, body, cookie) {
  const headers = { 'content-type': 'text/plain' };
  if (cookie !== null) headers['set-cookie'] = cookie;
  res.writeHead(status, headers);
  res.end(body);
}

function route(req, res) {
  const s = layer.load(req.headers.cookie);
  let status = 200;
  let body;
  if (req.url === '/login') {
    s.data = { user: nextUser(), n: 0 };
    s.changed = true;
    body = 'ok';
  } else if (s.data.user === undefined) {
    status = 401;
    body = 'no session';
  } else if (req.url === '/write') {
    s.data.n++;
    s.changed = true;
    body = String(s.data.n);
  } else {
    body = s.data.user;
  }
  send(res, status, body, layer.commit(s));
}

const server = http.createServer(wait ? async (req, res) => { await null; route(req, res); } : route);
server.keepAliveTimeout = 60_000;
server.listen(PORT, HOST, () => ready(server.address().port));
process.once('SIGTERM', () => process.exit(0));
