// Store-level memcached bench: sessions read + written per second (get,
// decode, change, encode, set of a ~300-byte session) through each store's
// own API, at several concurrencies, against the same memcached in one run:
//   - hotsession MemcachedStore, batching on  (memjs, pool of 2)
//   - hotsession MemcachedStore, batching off (memjs, pool of 2)
//   - connect-memcached@3 (its `memcached` client; callback API)
//   npm run bench:memcached     (MEMCACHED_SERVERS=127.0.0.1:11211, BENCH_TIME_MS=2000, BENCH_CONC=1,100,1000)
// Not part of the tests. Absolute numbers depend on the machine; compare ratios.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import os from 'node:os';
import { codecStep, connectStep } from './lib/store-steps.mjs';

const require = createRequire(import.meta.url);
const { MemcachedStore } = require('../dist/stores/memcached.js');
const { codec, isNativeEnabled } = require('../dist/codec/index.js');
const { encodeData, decodeData } = require('../dist/codec/msgpack.js');
const session = require('express-session');
const ConnectMemcached = require('connect-memcached')(session);

const SERVERS = process.env.MEMCACHED_SERVERS ?? '127.0.0.1:11211';
const TIME = Number(process.env.BENCH_TIME_MS ?? 2000);
const CONC = (process.env.BENCH_CONC ?? '1,100,1000').split(',').map(Number);
const TTL = 600_000;
const run = randomBytes(4).toString('hex');

// One session as an app keeps it: ~300 bytes however it is serialized.
const data = {
  user: { id: 48213, name: 'Ada Lovelace', email: 'ada@example.com', roles: ['admin', 'ops'] },
  csrf: randomBytes(24).toString('base64url'),
  cart: [{ sku: 'A-1001', qty: 2 }, { sku: 'B-2002', qty: 1 }, { sku: 'C-3003', qty: 5 }],
  prefs: { theme: 'dark', lang: 'en-GB', tz: 'Europe/London' },
  lastSeen: 1_764_000_000_000,
  views: 0,
  note: 'x'.repeat(60),
};
// What express-session hands its store: the data plus its cookie state.
const expressSession = () => ({
  cookie: { originalMaxAge: TTL, expires: new Date(Date.now() + TTL).toISOString(), secure: false, httpOnly: true, path: '/', sameSite: 'lax' },
  ...structuredClone(data),
});

const makeIds = (tag, n) => Array.from({ length: n }, (_, i) => `${tag}${String(i).padStart(6, '0')}${randomBytes(18).toString('base64url')}`.slice(0, 32));

/** `conc` loops of `step(id)` for TIME ms after a short warm-up: steps/s and errors. */
async function measure(conc, ids, step, time = TIME) {
  let done = 0;
  let errors = 0;
  let stop = false;
  const loop = async (id) => {
    while (!stop) {
      try {
        await step(id);
        done++;
      } catch {
        errors++;
      }
    }
  };
  const loops = ids.slice(0, conc).map(loop);
  await new Promise((r) => setTimeout(r, Math.min(300, time / 4)));
  done = 0;
  errors = 0;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, time));
  const rate = done / ((performance.now() - t0) / 1000);
  stop = true;
  await Promise.all(loops);
  return { rate, errors };
}

const fmt = (n) => Math.round(n).toLocaleString('en-US');
const ratio = (a, b) => (a > 0 && b > 0 ? `${(a / b).toFixed(2)}x` : 'n/a');

async function main() {
  const maxConc = Math.max(...CONC);
  const opts = { servers: SERVERS, timeout: 10_000, maxPending: 100_000 };
  const on = new MemcachedStore({ ...opts, prefix: `bench:${run}:on:` });
  const off = new MemcachedStore({ ...opts, prefix: `bench:${run}:off:`, batch: false });
  const cm = new ConnectMemcached({ hosts: SERVERS.split(','), prefix: `bench:${run}:cm:` });

  const hotIds = makeIds('h', maxConc);
  const cmIds = makeIds('c', maxConc);
  const rec = codec.frame(encodeData(data), 0, Date.now());
  console.error(`hotsession record: ${rec.length} bytes; connect-memcached record: ${JSON.stringify(expressSession()).length} bytes`);
  try {
    await on.set(hotIds[0], rec, TTL);
  } catch (err) {
    console.error(`bench:memcached needs memcached at ${SERVERS}: ${err.message}`);
    process.exit(1);
  }
  // Seed every id, then check each contender reads back what it wrote before timing anything.
  for (let i = 0; i < maxConc; i += 500) {
    const slice = hotIds.slice(i, i + 500);
    await Promise.all(slice.flatMap((id) => [on.set(id, rec, TTL), off.set(id, rec, TTL)]));
    await Promise.all(cmIds.slice(i, i + 500).map((id) => new Promise((res, rej) => cm.set(id, expressSession(), (e) => (e ? rej(e) : res())))));
  }
  await codecStep(on, TTL)(hotIds[0]);
  assert.equal(decodeData(codec.unframe(await on.get(hotIds[0])).body).views, 1);
  await codecStep(off, TTL)(hotIds[1]);
  assert.equal(decodeData(codec.unframe(await off.get(hotIds[1])).body).views, 1);
  await connectStep(cm)(cmIds[0]);
  assert.equal((await new Promise((res) => cm.get(cmIds[0], (_, s) => res(s)))).views, 1);

  // Warm every path (JIT, sockets) first, so the first cell measured is not the coldest.
  const WARM = Number(process.env.BENCH_WARM_MS ?? 500);
  for (const [list, step] of [[hotIds, codecStep(on, TTL)], [hotIds, codecStep(off, TTL)], [cmIds, connectStep(cm)]]) await measure(Math.min(10, maxConc), list, step, WARM);

  const rows = [];
  for (const conc of CONC) {
    const a = await measure(conc, hotIds, codecStep(on, TTL));
    const b = await measure(conc, hotIds, codecStep(off, TTL));
    const c = await measure(conc, cmIds, connectStep(cm));
    rows.push({ conc, a, b, c });
    console.error(`c=${conc}: batch ${fmt(a.rate)}/s, no batch ${fmt(b.rate)}/s, connect-memcached ${fmt(c.rate)}/s`);
  }

  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  console.log('\n## Memcached store: sessions read + written per second (get + decode + encode + set)\n');
  console.log(`Node ${process.version}, ${cpu} x${os.cpus().length}, codec: ${isNativeEnabled() ? 'native' : 'JS'}, ${TIME} ms per cell, memcached ${SERVERS}`);
  console.log('hotsession on memjs (pool 2); connect-memcached@3 on the `memcached` client it ships with.\n');
  console.log('| concurrency | hotsession batch | hotsession no batch | connect-memcached | batch / connect-memcached | batch / no batch | errors |');
  console.log('|---:|---:|---:|---:|---:|---:|---:|');
  for (const { conc, a, b, c } of rows) {
    console.log(`| ${conc} | ${fmt(a.rate)} | ${fmt(b.rate)} | ${fmt(c.rate)} | ${ratio(a.rate, c.rate)} | ${ratio(a.rate, b.rate)} | ${a.errors + b.errors + c.errors} |`);
  }

  // memcached cannot list keys by prefix: remove what this run wrote (it would expire in TTL anyway).
  await Promise.all(hotIds.flatMap((id) => [on.destroy(id), off.destroy(id)]));
  await Promise.all(cmIds.map((id) => new Promise((res) => cm.destroy(id, () => res()))));
  await on.close();
  await off.close();
  cm.client.end();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
