// Users' sessions (issue #17): what a request costs with the per-user index
// in use against the same request of an anonymous session (the target: no
// difference), and what login and sessionsOf cost. MemoryStore,
// SharedMemoryStore and the cookie store with its revocations in a
// MemoryStore always (the cookie store keeps no list: no sessionsOf row);
// Redis when it answers at REDIS_URL. Each row runs a closed loop of
// CONCURRENCY requests in flight through the SessionManager (no HTTP), after
// checking once that it does what it claims.
//   npm run bench:users [-- --seconds 2]   (--quick: 0.3 s per row, a smoke test)
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import { int, table } from './lib/format.mjs';

const require = createRequire(import.meta.url);
const { createSessionManager, MemoryStore, SharedMemoryStore, isNativeEnabled } = require('../dist/index.js');
const { CookieStore } = require('../dist/stores/cookie.js');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : process.argv[i + 1];
};
const SECONDS = process.argv.includes('--quick') ? 0.3 : Number(arg('seconds', 2));
const CONCURRENCY = 32;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

const up = (host, port) => new Promise((resolve) => {
  const s = net.connect({ host, port });
  s.setTimeout(500, () => { s.destroy(); resolve(false); });
  s.once('connect', () => { s.destroy(); resolve(true); });
  s.once('error', () => resolve(false));
});

/** Runs `op(i, worker)` in a closed loop of CONCURRENCY for SECONDS; ops/s and its inverse in µs. */
async function loop(op) {
  const end = performance.now() + SECONDS * 1000;
  let n = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async (_, w) => {
    while (performance.now() < end) await op(n++, w);
  }));
  const s = (performance.now() - t0) / 1000;
  return { ops: n / s, us: (s * 1e6) / n };
}

/** A cookie for a stored session: anonymous, or logged in as `user`. */
async function cookieFor(m, user) {
  const s = await m.load(undefined);
  s.set('views', 0);
  if (user) await s.login(user, { userAgent: 'bench' });
  const headers = [...(await m.commit(s)), ...m.takePending(s)];
  const cookie = headers.filter((h) => h.startsWith('sid=')).pop();
  assert.ok(cookie, 'a stored session has a cookie');
  return cookie.split(';')[0];
}

async function rows(label, store, { listable = true } = {}) {
  const m = createSessionManager('sid', store, { secret: 'bench secret' });
  const user = `bench-${randomBytes(4).toString('hex')}`;
  const out = [];
  // The same request twice: load, change one key, commit.
  const request = async (cookie) => {
    const s = await m.load(cookie);
    s.set('views', (s.get('views') ?? 0) + 1);
    await m.commit(s);
    return s;
  };
  const anonCookies = [];
  const userCookies = [];
  for (let w = 0; w < CONCURRENCY; w++) {
    anonCookies.push(await cookieFor(m, null));
    userCookies.push(await cookieFor(m, user));
  }
  // Checked before timing: the cookies open the sessions they claim to.
  assert.equal((await request(anonCookies[0])).userId, undefined);
  assert.equal((await request(userCookies[0])).userId, user);
  if (listable) assert.equal((await m.sessionsOf(user)).length, CONCURRENCY);
  // Alternated, best of 3 each: the first rows would otherwise pay the JIT's warm-up.
  const best = (a, b) => (b === null || a.ops > b.ops ? a : b);
  let anon = null;
  let logged = null;
  for (let r = 0; r < 3; r++) {
    anon = best(await loop((i, w) => request(anonCookies[w])), anon);
    logged = best(await loop((i, w) => request(userCookies[w])), logged);
  }
  out.push([label, 'request, anonymous session', int(anon.ops), int(anon.us)]);
  out.push([label, 'request, logged-in session (index in use)', int(logged.ops), int(logged.us)]);
  out.push([label, 'logged-in / anonymous, µs per request', `${(logged.us / anon.us).toFixed(2)}x`, '']);
  // Logins of fresh sessions, spread over many users (as a real app's are).
  const login = await loop(async (i) => {
    const s = await m.load(undefined);
    await s.login(`${user}-l${i % 1000}`);
    await m.commit(s);
  });
  out.push([label, 'login (fresh session, store + index)', int(login.ops), int(login.us)]);
  if (listable) {
    const list = await loop(async () => {
      const l = await m.sessionsOf(user);
      if (l.length !== CONCURRENCY) throw new Error(`listed ${l.length}`);
    });
    out.push([label, `sessionsOf (a user with ${CONCURRENCY} sessions)`, int(list.ops), int(list.us)]);
  }
  await m.revokeUser(user);
  // Checked after timing: the revocation ends the user's sessions (cookies too).
  assert.equal((await request(userCookies[1])).userId, undefined);
  for (let i = 0; i < 1000; i++) await m.revokeUser(`${user}-l${i}`);
  return out;
}

const all = [];
{
  const store = new MemoryStore({ max: 1_000_000 });
  all.push(...(await rows('memory', store)));
  await store.close();
}
{
  const store = new SharedMemoryStore({ name: 'bench-users', maxBytes: 256 * 2 ** 20 });
  all.push(...(await rows('shared memory', store)));
  await store.close();
}
{
  // Revocations in a MemoryStore: opening a logged-in cookie reads its user's record.
  // What the logged-in row pays over the anonymous one is mostly the binding
  // itself (user, handle, login time, meta) sealed into a cookie twice as
  // long: the same rows without `revocations` measured the same here.
  const revocations = new MemoryStore();
  const store = new CookieStore({ secret: 'bench cookie secret, 32 bytes or more', revocations });
  all.push(...(await rows('cookie (+ revocations)', store, { listable: false })));
  await revocations.close();
}
const u = new URL(REDIS_URL);
if (await up(u.hostname, Number(u.port || 6379))) {
  const { RedisStore } = require('../dist/stores/redis.js');
  const store = RedisStore.connect(REDIS_URL, { prefix: `bench:users:${randomBytes(4).toString('hex')}:` });
  all.push(...(await rows('redis', store)));
  await store.close();
} else {
  console.log(`redis not reachable at ${REDIS_URL}: its rows are skipped`);
}
console.log(`node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu?'} x${os.cpus().length}, codec ${isNativeEnabled() ? 'native' : 'js'}, ${CONCURRENCY} in flight, ${SECONDS} s per row`);
console.log(table(['store', 'operation', 'ops/s', 'µs per op (1 / throughput)'], all, ['l', 'l', 'r', 'r']));
