// uWebSockets.js + hotsession/uws, store chosen by HS_STORE. HS_ASYNC=1
// makes /read and /write async handlers that await once before reading the
// session, as most applications' handlers do.
import { cjs, fatal, HOST, need, nextUser, onStop, PORT, ready, skip, STORE } from './common.mjs';
import { hotsessionStore, sessionOptions } from './hotsession-stores.mjs';

const uWS = cjs(await need('uWebSockets.js'));
const { sessions } = await need('hotsession/uws');
let built;
try {
  built = await hotsessionStore(STORE);
} catch (err) {
  fatal(err);
}
const withSession = sessions('sid', built.store, sessionOptions);
const text = { 'content-type': 'text/plain' };
const noSession = { status: 401, headers: text, body: 'no session' };
const wait = process.env.HS_ASYNC === '1';

function read(session) {
  const user = session.get('user');
  return user === undefined ? noSession : { status: 200, headers: text, body: user };
}

function write(session) {
  if (session.get('user') === undefined) return noSession;
  const n = (session.get('n') ?? 0) + 1;
  session.set('n', n);
  return { status: 200, headers: text, body: String(n) };
}

uWS.App()
  .get('/login', withSession((res, req, session) => {
    session.set('user', nextUser());
    session.set('n', 0);
    return { status: 200, headers: text, body: 'ok' };
  }))
  .get('/read', withSession(wait ? async (res, req, session) => { await null; return read(session); } : (res, req, session) => read(session)))
  .get('/write', withSession(wait ? async (res, req, session) => { await null; return write(session); } : (res, req, session) => write(session)))
  .listen(HOST, PORT, (token) => {
    if (!token) skip(`uWS could not listen on ${HOST}:${PORT}`);
    ready(uWS.us_socket_local_port(token));
  });
onStop(() => built.close());
