// uWebSockets.js + the naive session layer (bench/lib/naive-layer.mjs): the
// floor the hotsession uWS rows' session cost is compared with. HS_ASYNC=1
// awaits once before the session is read (onAborted, then cork to respond),
// as hotsession's async rows do.
import { naiveLayer } from '../lib/naive-layer.mjs';
import { cjs, HOST, need, nextUser, PORT, ready, SECRET, skip } from './common.mjs';

const uWS = cjs(await need('uWebSockets.js'));
const layer = naiveLayer('sid', SECRET);
const wait = process.env.HS_ASYNC === '1';

function respond(res, url, header) {
  const s = layer.load(header);
  let status = '200 OK';
  let body;
  if (url === '/login') {
    s.data = { user: nextUser(), n: 0 };
    s.changed = true;
    body = 'ok';
  } else if (s.data.user === undefined) {
    status = '401 Unauthorized';
    body = 'no session';
  } else if (url === '/write') {
    s.data.n++;
    s.changed = true;
    body = String(s.data.n);
  } else {
    body = s.data.user;
  }
  const cookie = layer.commit(s);
  res.cork(() => {
    res.writeStatus(status).writeHeader('content-type', 'text/plain');
    if (cookie !== null) res.writeHeader('set-cookie', cookie);
    res.end(body);
  });
}

async function later(res, url, header) {
  await null;
  if (!res.aborted) respond(res, url, header);
}

uWS.App()
  .get('/*', (res, req) => {
    const url = req.getUrl();
    const header = req.getHeader('cookie');
    if (!wait) return respond(res, url, header);
    res.onAborted(() => { res.aborted = true; });
    void later(res, url, header);
  })
  .listen(HOST, PORT, (token) => {
    if (!token) skip(`uWS could not listen on ${HOST}:${PORT}`);
    ready(uWS.us_socket_local_port(token));
  });
process.once('SIGTERM', () => process.exit(0));
