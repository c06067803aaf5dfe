// Store-level memcached bench: sessions read + written per second through
// each store's own API, at several concurrencies, against the same memcached
// in one run, with each side's codec counted (bench/lib/patch-steps.mjs):
//   - hotsession MemcachedStore, batching on (memjs, pool of 2), v2 records:
//       store alone:  get + a fixed patch (no codec work)
//       + codec:      get, scan, decode `views`, encode views + 1, patch
//                     (a compare-and-swap; the CAS of the get is remembered)
//   - the same + codec with batching off
//   - connect-memcached@3 (its `memcached` client; callback API): get + set,
//     its JSON.parse / JSON.stringify inside
// of a ~300-byte session, then "read one key, write one key of a 2 KB
// session" (read `user`, write `lastSeen`) for hotsession + codec against
// connect-memcached. Each cell prints sessions/s and the CPU µs per session
// of this Node process and of memcached (its `stats` rusage; a shared server
// counts everyone's load).
//   npm run bench:memcached   (MEMCACHED_SERVERS=127.0.0.1:11211, BENCH_TIME_MS=2000, BENCH_CONC=1,100,1000, BENCH_ROUNDS=3)
// Not part of the tests. Absolute numbers depend on the machine; compare ratios.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import os from 'node:os';
import { stats } from '../test/helpers/memcached-procs.mjs';
import { bestOf, cell, connectKeyStep, fixedPatchStep, measure, ONE_KEY, patchOf, patchStep, ratio, recordOf, twoKbSession, valueOf } from './lib/patch-steps.mjs';

const require = createRequire(import.meta.url);
const { MemcachedStore } = require('../dist/stores/memcached.js');
const { isNativeEnabled } = require('../dist/codec/index.js');
const session = require('express-session');
const ConnectMemcached = require('connect-memcached')(session);

const SERVERS = process.env.MEMCACHED_SERVERS ?? '127.0.0.1:11211';
const TIME = Number(process.env.BENCH_TIME_MS ?? 2000);
const CONC = (process.env.BENCH_CONC ?? '1,100,1000').split(',').map(Number);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const TTL = 600_000;
const run = randomBytes(4).toString('hex');

// One session as an app keeps it: ~300 bytes however it is serialized.
const small = {
  user: { id: 48213, name: 'Ada Lovelace', email: 'ada@example.com', roles: ['admin', 'ops'] },
  csrf: randomBytes(24).toString('base64url'),
  cart: [{ sku: 'A-1001', qty: 2 }, { sku: 'B-2002', qty: 1 }, { sku: 'C-3003', qty: 5 }],
  prefs: { theme: 'dark', lang: 'en-GB', tz: 'Europe/London' },
  lastSeen: 1_764_000_000_000,
  views: 0,
  note: 'x'.repeat(60),
};
const big = twoKbSession();
// What express-session hands its store: the data plus its cookie state.
const expressSession = (data) => () => ({
  cookie: { originalMaxAge: TTL, expires: new Date(Date.now() + TTL).toISOString(), secure: false, httpOnly: true, path: '/', sameSite: 'lax' },
  ...structuredClone(data),
});

const makeIds = (tag, n) => Array.from({ length: n }, (_, i) => `${tag}${String(i).padStart(6, '0')}${randomBytes(18).toString('base64url')}`.slice(0, 32));

/** memcached's CPU time so far (µs), from the first server's `stats`. */
const [mcHost, mcPort] = SERVERS.split(',')[0].split(':');
async function memcachedCpuUs() {
  if (mcHost !== '127.0.0.1' && mcHost !== 'localhost') return null;
  try {
    const s = await stats(Number(mcPort ?? 11211));
    return (Number(s.rusage_user) + Number(s.rusage_system)) * 1e6;
  } catch {
    return null;
  }
}

const cmGet = (cm, id) => new Promise((res, rej) => cm.get(id, (e, s) => (e ? rej(e) : res(s))));
const cmSet = (cm, id, s) => new Promise((res, rej) => cm.set(id, s, (e) => (e ? rej(e) : res())));

async function main() {
  const maxConc = Math.max(...CONC);
  const opts = { servers: SERVERS, timeout: 10_000, maxPending: 100_000 };
  const on = new MemcachedStore({ ...opts, prefix: `bench:${run}:on:` });
  const off = new MemcachedStore({ ...opts, prefix: `bench:${run}:off:`, batch: false });
  const cm = new ConnectMemcached({ hosts: SERVERS.split(','), prefix: `bench:${run}:cm:` });

  const ids = { hot: makeIds('h', maxConc), big: makeIds('b', maxConc), cm: makeIds('c', maxConc), cmBig: makeIds('d', maxConc) };
  const rec = recordOf(small);
  const recBig = recordOf(big);
  console.error(`records: ${rec.length} / ${recBig.length} bytes (v2); connect-memcached: ${JSON.stringify(expressSession(small)()).length} / ${JSON.stringify(expressSession(big)()).length} bytes (JSON)`);
  try {
    await on.set(ids.hot[0], rec, TTL);
  } catch (err) {
    console.error(`bench:memcached needs memcached at ${SERVERS}: ${err.message}`);
    process.exit(1);
  }
  // Seed every id, then check each contender reads back what it wrote before timing anything.
  for (let i = 0; i < maxConc; i += 500) {
    const part = (list) => list.slice(i, i + 500);
    await Promise.all([
      ...part(ids.hot).flatMap((id) => [on.set(id, rec, TTL), off.set(id, rec, TTL)]),
      ...part(ids.big).map((id) => on.set(id, recBig, TTL)),
      ...part(ids.cm).map((id) => cmSet(cm, id, expressSession(small)())),
      ...part(ids.cmBig).map((id) => cmSet(cm, id, expressSession(big)())),
    ]);
  }
  const fixed = patchOf('views', 7);
  const steps = {
    store: fixedPatchStep(on, fixed, TTL),
    codec: patchStep(on, TTL),
    offCodec: patchStep(off, TTL),
    cm: connectKeyStep(cm),
    big: patchStep(on, TTL, ONE_KEY),
    cmBig: connectKeyStep(cm, ONE_KEY),
  };
  await steps.codec(ids.hot[1]);
  assert.equal(valueOf(await on.get(ids.hot[1]), 'views'), 1);
  await steps.offCodec(ids.hot[2]);
  assert.equal(valueOf(await off.get(ids.hot[2]), 'views'), 1);
  await steps.big(ids.big[0]);
  assert.ok(valueOf(await on.get(ids.big[0]), 'lastSeen') > big.lastSeen);
  assert.deepEqual(valueOf(await on.get(ids.big[0]), 'user'), big.user);
  await steps.cm(ids.cm[0]);
  assert.equal((await cmGet(cm, ids.cm[0])).views, 1);
  await steps.cmBig(ids.cmBig[0]);
  assert.ok((await cmGet(cm, ids.cmBig[0])).lastSeen > big.lastSeen);

  const m = (conc, list, step) => () => measure(conc, list, step, { time: TIME, serverCpuUs: memcachedCpuUs });
  // Warm every path (JIT, sockets) first, so the first cell measured is not the coldest.
  for (const [list, step] of [[ids.hot, steps.codec], [ids.hot, steps.offCodec], [ids.cm, steps.cm], [ids.big, steps.big], [ids.cmBig, steps.cmBig]]) {
    await measure(Math.min(10, maxConc), list, step, { time: Number(process.env.BENCH_WARM_MS ?? 500) });
  }

  const rows = [];
  for (const conc of CONC) {
    const best = await bestOf(ROUNDS, {
      store: m(conc, ids.hot, steps.store),
      codec: m(conc, ids.hot, steps.codec),
      offCodec: m(conc, ids.hot, steps.offCodec),
      cm: m(conc, ids.cm, steps.cm),
      big: m(conc, ids.big, steps.big),
      cmBig: m(conc, ids.cmBig, steps.cmBig),
    }, Boolean(process.env.BENCH_VERBOSE));
    rows.push({ conc, ...best });
    console.error(`c=${conc}: store ${cell(best.store)}, +codec ${cell(best.codec)}, no batch ${cell(best.offCodec)}, connect-memcached ${cell(best.cm)}; 2 KB: ${cell(best.big)} vs ${cell(best.cmBig)}`);
  }

  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const errors = (r) => Object.values(r).reduce((n, v) => n + (v?.errors ?? 0), 0);
  console.log('\n## Memcached store: sessions read + written per second (one key read and written, ~300-byte session)\n');
  console.log(`Node ${process.version}, ${cpu} x${os.cpus().length}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}, codec: ${isNativeEnabled() ? 'native' : 'JS'}, best of ${ROUNDS} rounds of ${TIME} ms per cell, memcached ${SERVERS}`);
  console.log('hotsession on memjs (pool 2), v2 records, patches by compare-and-swap; connect-memcached@3 on the `memcached` client it ships with.');
  console.log('Rates in sessions/s; in brackets, CPU µs per session: this Node process / memcached (they share the cores).\n');
  console.log('| concurrency | hotsession batch, store alone | hotsession batch + codec | hotsession no batch + codec | connect-memcached (JSON incl.) | batch+codec / connect-memcached | batch / no batch (+codec) | errors |');
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(`| ${r.conc} | ${cell(r.store)} | ${cell(r.codec)} | ${cell(r.offCodec)} | ${cell(r.cm)} | ${ratio(r.codec, r.cm)} | ${ratio(r.codec, r.offCodec)} | ${errors(r)} |`);
  }
  console.log(`\n## Read one key, write one key of a 2 KB session (${recBig.length}-byte record; ${JSON.stringify(big).length} bytes of JSON)\n`);
  console.log('| concurrency | hotsession batch + codec | connect-memcached (JSON incl.) | hotsession / connect-memcached |');
  console.log('|---:|---:|---:|---:|');
  for (const r of rows) console.log(`| ${r.conc} | ${cell(r.big)} | ${cell(r.cmBig)} | ${ratio(r.big, r.cmBig)} |`);

  // memcached cannot list keys by prefix: remove what this run wrote (it would expire in TTL anyway).
  await Promise.all([...ids.hot.flatMap((id) => [on.destroy(id), off.destroy(id)]), ...ids.big.map((id) => on.destroy(id))]);
  await Promise.all([...ids.cm, ...ids.cmBig].map((id) => new Promise((res) => cm.destroy(id, () => res()))));
  await on.close();
  await off.close();
  cm.client.end();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
