// Cookie sessions, one request's worth of work: read the cookie from the
// Cookie header, verify/decrypt it, change one value, seal it again and
// serialize the Set-Cookie header. hotsession's CookieStore (through
// SessionManager load + commit) against cookie-session (its real middleware)
// and iron-session (getIronSession + save) on a ~300-byte session, in one run.
// Every contender's output is checked before anything is timed.
//   npm run bench:cookie            (BENCH_TIME_MS=2000 for longer samples;
//   HOTSESSION_NO_NATIVE=1 for the JS codec)
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import os from 'node:os';
import { Bench } from 'tinybench';

const require = createRequire(import.meta.url);
const { createSessionManager, isNativeEnabled } = require('hotsession');
const { CookieStore } = require('hotsession/cookie');
const cookieSession = require('cookie-session');
const { getIronSession } = require('iron-session');

const TIME = Number(process.env.BENCH_TIME_MS ?? 1000);
// A batch per tinybench call keeps its clock reads out of the numbers.
const BATCH = 20;
const SECRET = 'a bench secret that is at least 32 characters long';
const MAX_AGE = 86_400_000;

// About 300 bytes as JSON: a logged-in user, a CSRF token, a small cart.
const initial = {
  user: { id: 48213, name: 'Ada Lovelace', email: 'ada@example.com', roles: ['admin', 'editor'] },
  csrf: 'k7Qf2m9XcR1vL8pT4wZ0bN6yH3sJ5dG2aE7uI9oP1qW',
  cart: [{ sku: 'BK-1843', qty: 1, price: 1999 }, { sku: 'PN-0042', qty: 3, price: 250 }],
  locale: 'en-GB',
  theme: 'dark-high-contrast',
  views: 1,
};
const jsonBytes = Buffer.byteLength(JSON.stringify(initial));
assert.ok(jsonBytes >= 270 && jsonBytes <= 330, `session is ${jsonBytes} bytes of JSON`);

const cookiePart = (setCookie) => setCookie.split(';')[0];

// --- hotsession: SessionManager + CookieStore --------------------------------
function hotsession(mode) {
  const m = createSessionManager('sid', new CookieStore({ secret: SECRET, mode }), { secret: SECRET, cookie: { maxAge: MAX_AGE } });
  const s = m.load(undefined);
  for (const [k, v] of Object.entries(initial)) s.set(k, v);
  const cookie = cookiePart(m.commit(s)[0]);
  const step = (header) => {
    const session = m.load(header);
    session.set('views', session.get('views') + 1);
    return m.commit(session);
  };
  const check = () => {
    const out = step(cookie);
    assert.equal(out.length, 1);
    const again = m.load(cookiePart(out[0]));
    assert.equal(again.isNew, false);
    assert.equal(again.get('views'), 2);
    assert.deepEqual(again.get('user'), initial.user);
  };
  return { cookie, step, check };
}

// --- cookie-session: its middleware on minimal req/res objects ---------------
function fakeRes() {
  const headers = new Map();
  return {
    headers,
    getHeader: (n) => headers.get(n.toLowerCase()),
    setHeader(n, v) { headers.set(n.toLowerCase(), v); },
    writeHead() { return this; },
  };
}
const csMiddleware = cookieSession({ name: 'session', keys: [SECRET], maxAge: MAX_AGE });
function csStep(header) {
  const req = { headers: { cookie: header }, connection: { encrypted: false }, socket: { encrypted: false } };
  const res = fakeRes();
  csMiddleware(req, res, () => {
    req.session.views = req.session.views + 1;
  });
  res.writeHead(200); // on-headers: cookie-session serializes and signs here
  return res.headers.get('set-cookie');
}
const csCookie = (() => {
  const req = { headers: {}, connection: { encrypted: false }, socket: { encrypted: false } };
  const res = fakeRes();
  csMiddleware(req, res, () => Object.assign(req.session, initial));
  res.writeHead(200);
  return res.headers.get('set-cookie').map(cookiePart).join('; ');
})();
function csCheck() {
  const out = csStep(csCookie);
  assert.equal(out.length, 2, 'session and session.sig');
  let seen;
  const req = { headers: { cookie: out.map(cookiePart).join('; ') }, connection: { encrypted: false }, socket: { encrypted: false } };
  csMiddleware(req, fakeRes(), () => { seen = { ...req.session }; });
  assert.equal(seen.views, 2);
  assert.deepEqual(seen.user, initial.user);
}

// --- iron-session: getIronSession + save on minimal req/res ------------------
const ironOptions = { cookieName: 'iron', password: SECRET, ttl: MAX_AGE / 1000, cookieOptions: { secure: false } };
async function ironStep(header) {
  const req = { headers: { cookie: header } };
  const res = fakeRes();
  const session = await getIronSession(req, res, ironOptions);
  session.views = session.views + 1;
  await session.save();
  return res.headers.get('set-cookie');
}
const ironCookie = await (async () => {
  const res = fakeRes();
  const session = await getIronSession({ headers: {} }, res, ironOptions);
  Object.assign(session, initial);
  await session.save();
  return cookiePart([res.headers.get('set-cookie')].flat()[0]);
})();
async function ironCheck() {
  const out = [await ironStep(ironCookie)].flat();
  const session = await getIronSession({ headers: { cookie: cookiePart(out[0]) } }, fakeRes(), ironOptions);
  assert.equal(session.views, 2);
  assert.deepEqual(session.user, initial.user);
}

const sealed = hotsession('sealed');
const signed = hotsession('signed');
sealed.check();
signed.check();
csCheck();
await ironCheck();

let sink;
const tasks = [
  ['hotsession CookieStore sealed (AES-256-GCM)', () => { for (let i = 0; i < BATCH; i++) sink = sealed.step(sealed.cookie); }],
  ['hotsession CookieStore signed (HMAC-SHA256)', () => { for (let i = 0; i < BATCH; i++) sink = signed.step(signed.cookie); }],
  ['cookie-session 2 (signed JSON, HMAC-SHA1)', () => { for (let i = 0; i < BATCH; i++) sink = csStep(csCookie); }],
  ['iron-session 8 (sealed, AES-256-CBC + HMAC)', async () => { for (let i = 0; i < BATCH; i++) sink = await ironStep(ironCookie); }],
];
const bench = new Bench({ time: TIME, warmupTime: 200 });
for (const [name, fn] of tasks) bench.add(name, fn);
await bench.run();
void sink;

const ops = (name) => {
  const t = bench.tasks.find((x) => x.name === name);
  return (t.result.throughput?.mean ?? t.result.hz) * BATCH;
};
const fmt = (n) => Math.round(n).toLocaleString('en-US');
const base = ops(tasks[0][0]);
console.log(`Node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'} (${os.cpus().length} cpus), load ${os.loadavg()[0].toFixed(2)}, ${os.platform()}-${os.arch()}`);
console.log(`native codec: ${isNativeEnabled() ? 'on' : 'off'}; session ${jsonBytes} B as JSON; ${BATCH} load+commit per sample, ${TIME} ms per task\n`);
console.log('| load + commit of a ~300 B cookie session | ops/s | hotsession sealed ÷ this |');
console.log('|---|---:|---:|');
for (const [name] of tasks) {
  const o = ops(name);
  console.log(`| ${name} | ${fmt(o)} | ${(base / o).toFixed(2)}x |`);
}
