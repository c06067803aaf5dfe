// Store-level Redis bench: sessions read + written per second through each
// store's own API, at several concurrencies, on the same Redis in the same run.
// One step per session is a read then a write of the same id:
//   - hotsession RedisStore, batching on (ioredis client): get + patch of a
//     fixed one-key patch, the store alone; on a standalone server each write
//     batch is one EVALSHA of the write script (the default)
//   - the same with the core's codec work counted, like for like with
//     connect-redis: get, scan the per-key record, decode the counter,
//     encode it, build the patch, patch (nothing else of the session is
//     decoded or re-encoded: that is what per-key records are for)
//   - the same with `scripts: false`: single commands, patches as WATCH/MULTI
//   - hotsession RedisStore, batching off
//   - before per-key records: the whole v1 frame read, decoded, encoded and
//     written back with set (what every commit cost until v2)
//   - connect-redis@9 (node-redis client, the only one it supports; callback
//     API), whose get/set parse and stringify JSON themselves
// plus a "read one key, write one key of a 2 KB session" row (hotsession
// per-key with codec vs connect-redis on the same data), and
// `redis-benchmark -P 16 -t get` as the ceiling (GET commands/s).
//   npm run bench:redis      (env: REDIS_URL, BENCH_TIME_MS=2000, BENCH_CONC=1,100,1000, BENCH_ROUNDS=3)
// Not part of the tests. Absolute numbers depend on the machine; compare ratios.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import os from 'node:os';
import { codecStep, connectStep, patchStep, perKeyRecord, perKeyStep } from './lib/store-steps.mjs';

const require = createRequire(import.meta.url);
const { RedisStore } = require('../dist/stores/redis.js');
const { codec, isNativeEnabled } = require('../dist/codec/index.js');
const { encodeData, decodeData, encodeValue, decodeValue } = require('../dist/codec/msgpack.js');
const { RecordWriter, findKey } = require('../dist/codec/record.js');
const { KIND_PATCH } = require('../dist/codec/layout.js');
const { RedisStore: ConnectRedisStore } = require('connect-redis');
const { createClient } = require('redis');
const Redis = require('ioredis');

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const TIME = Number(process.env.BENCH_TIME_MS ?? 2000);
const CONC = (process.env.BENCH_CONC ?? '1,100,1000').split(',').map(Number);
// On a shared machine one cell can land on a busy moment: each cell runs
// ROUNDS times, interleaved with the others, and keeps its best round.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
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
// A larger session: about 2 KB in either format; a request reads `user` and bumps `views`.
const data2k = {
  ...data,
  cart: Array.from({ length: 8 }, (_, i) => ({ sku: `SKU-${1000 + i}`, qty: i + 1, price: 1999 + i, title: `Item number ${i} with a name` })),
  recent: Array.from({ length: 12 }, (_, i) => `/products/${20_000 + i}/some-product-slug`),
  flash: [{ type: 'info', text: 'Your order was placed. A confirmation email is on its way.' }],
  permissions: ['orders:read', 'orders:write', 'users:read', 'reports:read', 'billing:read'],
  address: { line1: '12 Analytical Engine Road', city: 'London', postcode: 'NW1 6XE', country: 'GB' },
  notes: 'n'.repeat(420),
};
const cookieOf = () => ({ originalMaxAge: TTL, expires: new Date(Date.now() + TTL).toISOString(), secure: false, httpOnly: true, path: '/', sameSite: 'lax' });
const expressSession = (d = data) => ({ cookie: cookieOf(), ...structuredClone(d) });

const ids = (prefix, n) => Array.from({ length: n }, (_, i) => `${prefix}${i.toString().padStart(6, '0')}${randomBytes(13).toString('base64url')}`.slice(0, 32));

/** redis-server's CPU time so far in µs (INFO cpu), or null. */
let redisInfo = null;
async function redisCpuUs() {
  if (redisInfo === null) return null;
  const info = await redisInfo.info('cpu');
  const sum = ['used_cpu_user', 'used_cpu_sys'].map((k) => Number(new RegExp(`^${k}:([\\d.]+)`, 'm').exec(info)?.[1])).reduce((a, b) => a + b, 0);
  return Number.isFinite(sum) ? sum * 1e6 : null;
}

/** Runs `conc` loops of `step(id)` for TIME ms; resolves with steps/s and errors. */
async function measure(conc, list, step) {
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
  // Warm up briefly, then count.
  const warm = Date.now() + Math.min(300, TIME / 4);
  const loops = list.slice(0, conc).map(loop);
  while (Date.now() < warm) await new Promise((r) => setTimeout(r, 20));
  done = 0;
  errors = 0;
  const redis0 = await redisCpuUs();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, TIME));
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const counted = done;
  const redis1 = await redisCpuUs();
  stop = true;
  await Promise.all(loops);
  // This process's CPU per session: a steadier signal than the rate on a busy machine.
  // redis-server's CPU per session (it shares the machine's cores with this process).
  const redisUs = counted && redis0 !== null && redis1 !== null ? (redis1 - redis0) / counted : null;
  return { rate: counted / elapsed, errors, cpuUs: counted ? (cpu.user + cpu.system) / counted : 0, redisUs };
}

function ceiling() {
  const u = new URL(REDIS_URL);
  const r = spawnSync('redis-benchmark', ['-h', u.hostname, '-p', u.port || '6379', '-P', '16', '-t', 'get', '-q', '-n', '300000'], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) return null;
  const m = /GET: ([\d.]+) requests per second/.exec(r.stdout.replace(/\r/g, '\n'));
  return m ? Number(m[1]) : null;
}

/**
 * The most sessions/s a cell's CPU cost allows on `cores` cores (this
 * process plus redis-server per session), as a multiple of connect-redis's
 * measured rate, and the CPU per session `target` times that rate needs.
 */
function cpuBound(m, baseRate, cores, target) {
  if (m.redisUs === null || !(baseRate > 0)) return 'n/a (redis-server CPU not readable)';
  const total = m.cpuUs + m.redisUs;
  const bound = (cores * 1e6) / total;
  const need = (cores * 1e6) / (target * baseRate);
  return `batch costs ${m.cpuUs.toFixed(1)} + ${m.redisUs.toFixed(1)} = ${total.toFixed(1)} µs per session, so at most ${fmt(bound)}/s = ${x(bound, baseRate)} connect-redis's measured rate (measured: ${x(m.rate, baseRate)}); ${target}x needs at most ${need.toFixed(1)} µs per session in total`;
}

const fmt = (n) => (n === null || n === undefined ? 'n/a' : Math.round(n).toLocaleString('en-US'));
const x = (a, b) => (a && b ? `${(a / b).toFixed(2)}x` : 'n/a');

/** The value of `key` in a v2 record (a check before timing, not part of any step). */
function valueOf(rec, key) {
  const v = codec.scan(rec);
  const i = findKey(rec, v, key);
  return decodeValue(rec, v.index[4 * i + 2], v.index[4 * i + 2] + v.index[4 * i + 3]);
}

async function main() {
  const maxConc = Math.max(...CONC);
  const ioredis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  await ioredis.ping().catch((err) => {
    console.error(`bench:redis needs Redis at ${REDIS_URL}: ${err.message}`);
    process.exit(1);
  });
  redisInfo = ioredis;
  const node = createClient({ url: REDIS_URL });
  await node.connect();

  const limits = { timeout: 10_000, maxPending: 100_000 };
  const hotOn = new RedisStore({ client: ioredis, prefix: `bench:${run}:on:`, ...limits });
  const hotCmd = new RedisStore({ client: ioredis, prefix: `bench:${run}:on:`, ...limits, scripts: false });
  const hotOff = new RedisStore({ client: ioredis, prefix: `bench:${run}:off:`, ...limits, batch: false });
  const hotV1 = new RedisStore({ client: ioredis, prefix: `bench:${run}:v1:`, ...limits });
  const cr = new ConnectRedisStore({ client: node, prefix: `bench:${run}:cr:` });

  // Seed every id, and check each contender reads back what it wrote before timing anything.
  const hotIds = ids('h', maxConc);
  const crIds = ids('c', maxConc);
  const rec = perKeyRecord(data);
  const rec2k = perKeyRecord(data2k);
  const v1rec = codec.frame(encodeData(data), 0, Date.now());
  const patch = new RecordWriter().begin(KIND_PATCH, 0, 0, Date.now(), 0).set('views', encodeValue('views', 1)).finish();
  const json = JSON.stringify(expressSession()).length;
  const json2k = JSON.stringify(expressSession(data2k)).length;
  console.error(`hotsession record: ${rec.length} bytes (v1 frame ${v1rec.length}), 2 KB session ${rec2k.length}; connect-redis record: ${json} bytes, 2 KB session ${json2k}`);
  const seed = (list, fn) => Promise.all(list.map(fn));
  await seed(hotIds, (id) => Promise.all([hotOn.set(id, rec, TTL), hotOff.set(id, rec, TTL), hotV1.set(id, v1rec, TTL), hotOn.set(`2k${id}`, rec2k, TTL)]));
  const crSet = (id, s) => new Promise((res, rej) => cr.set(id, s, (e) => (e ? rej(e) : res())));
  const crGet = (id) => new Promise((res) => cr.get(id, (_, s) => res(s)));
  await seed(crIds, (id) => Promise.all([crSet(id, expressSession()), crSet(`2k${id}`, expressSession(data2k))]));
  await perKeyStep(hotOn, TTL)(hotIds[0]);
  assert.equal(valueOf(await hotOn.get(hotIds[0]), 'views'), 1);
  await perKeyStep(hotOn, TTL, { readKey: 'user' })(`2k${hotIds[0]}`);
  assert.equal(valueOf(await hotOn.get(`2k${hotIds[0]}`), 'views'), 1);
  assert.deepEqual(valueOf(await hotOn.get(`2k${hotIds[0]}`), 'cart'), data2k.cart, 'the rest of the session is untouched');
  await codecStep(hotV1, TTL)(hotIds[0]);
  assert.equal(decodeData(codec.unframe(await hotV1.get(hotIds[0])).body).views, 1);
  await connectStep(cr)(crIds[0]);
  assert.equal((await crGet(crIds[0])).views, 1);
  await connectStep(cr)(`2k${crIds[0]}`);
  assert.equal((await crGet(`2k${crIds[0]}`)).views, 1);
  const k2 = (list) => list.map((id) => `2k${id}`);

  const rows = [];
  for (const conc of CONC) {
    const cells = {
      on: () => measure(conc, hotIds, patchStep(hotOn, patch, TTL)),
      codecOn: () => measure(conc, hotIds, perKeyStep(hotOn, TTL)),
      cmd: () => measure(conc, hotIds, patchStep(hotCmd, patch, TTL)),
      off: () => measure(conc, hotIds, patchStep(hotOff, patch, TTL)),
      v1: () => measure(conc, hotIds, codecStep(hotV1, TTL)),
      c: () => measure(conc, crIds, connectStep(cr)),
      hot2k: () => measure(conc, k2(hotIds), perKeyStep(hotOn, TTL, { readKey: 'user' })),
      c2k: () => measure(conc, k2(crIds), connectStep(cr)),
    };
    const best = {};
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, run] of Object.entries(cells)) {
        const m = await run();
        if (process.env.BENCH_VERBOSE) console.error(`  c=${conc} ${name} round ${round}: ${fmt(m.rate)}/s, ${m.cpuUs.toFixed(1)} µs CPU`);
        if (best[name] === undefined || m.rate > best[name].rate) best[name] = m;
      }
    }
    rows.push({ conc, ...best });
    const b = best;
    console.error(`c=${conc}: on ${fmt(b.on.rate)}/s, on+codec ${fmt(b.codecOn.rate)}/s, scripts off ${fmt(b.cmd.rate)}/s, off ${fmt(b.off.rate)}/s, v1 ${fmt(b.v1.rate)}/s, connect-redis ${fmt(b.c.rate)}/s; 2 KB: ${fmt(b.hot2k.rate)}/s vs ${fmt(b.c2k.rate)}/s`);
  }
  const ceil = ceiling();

  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const cell = (m) => `${fmt(m.rate)} (${m.cpuUs.toFixed(1)} / ${m.redisUs === null ? 'n/a' : m.redisUs.toFixed(1)})`;
  console.log(`\n## Redis store: sessions read + written per second (a get then a write of one ~300-byte session)\n`);
  console.log(`Node ${process.version}, ${cpu} x${os.cpus().length}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}, codec: ${isNativeEnabled() ? 'native' : 'JS'}, best of ${ROUNDS} rounds of ${TIME} ms per cell, Redis ${REDIS_URL}`);
  console.log('hotsession on ioredis; connect-redis@9 on node-redis (the client each supports).\n');
  console.log('Rates in sessions/s; in brackets, CPU µs per session: this Node process / redis-server (they share the cores).');
  console.log('"batch" writes a one-key patch, each write batch one EVALSHA (the default on a standalone server); "scripts off" single commands and WATCH/MULTI;');
  console.log('"+ codec" adds the core\'s work (scan the per-key record, decode the counter, encode it, build the patch), like connect-redis\'s JSON;');
  console.log('"v1 + codec" is the whole-record path before per-key records (unframe, decode, encode, frame, set).\n');
  console.log('| concurrency | hotsession batch | hotsession batch + codec | hotsession batch, scripts off | hotsession no batch | v1 whole record + codec | connect-redis (JSON incl.) | batch / connect-redis | batch+codec / connect-redis | scripts off / connect-redis | v1+codec / connect-redis | batch / no batch | batch key reads+writes/s vs ceiling |');
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    const errs = r.on.errors + r.codecOn.errors + r.cmd.errors + r.off.errors + r.v1.errors + r.c.errors;
    // A session is two key operations (a read and a write, whatever commands carry them); the ceiling counts GETs.
    const pct = ceil ? `${((2 * r.on.rate / ceil) * 100).toFixed(0)}%` : 'n/a';
    console.log(`| ${r.conc} | ${cell(r.on)} | ${cell(r.codecOn)} | ${cell(r.cmd)} | ${cell(r.off)} | ${cell(r.v1)} | ${cell(r.c)} | ${x(r.on.rate, r.c.rate)} | ${x(r.codecOn.rate, r.c.rate)} | ${x(r.cmd.rate, r.c.rate)} | ${x(r.v1.rate, r.c.rate)} | ${x(r.on.rate, r.off.rate)} | ${pct}${errs ? ` (${errs} errors)` : ''} |`);
  }
  console.log(`\n## Read one key, write one key of a 2 KB session (hotsession ${rec2k.length} B per-key record, connect-redis ${json2k} B JSON)\n`);
  console.log('hotsession: get, scan, decode `user`, decode + encode `views`, patch; connect-redis: get (JSON.parse of all of it), views++, set (JSON.stringify of all of it).\n');
  console.log('| concurrency | hotsession batch + codec | connect-redis (JSON incl.) | hotsession / connect-redis |');
  console.log('|---:|---:|---:|---:|');
  for (const r of rows) {
    const errs = r.hot2k.errors + r.c2k.errors;
    console.log(`| ${r.conc} | ${cell(r.hot2k)} | ${cell(r.c2k)} | ${x(r.hot2k.rate, r.c2k.rate)}${errs ? ` (${errs} errors)` : ''} |`);
  }
  console.log(`\nCeiling: redis-benchmark -P 16 -t get -q: ${ceil === null ? 'n/a (redis-benchmark not found)' : `${fmt(ceil)} GET/s`}`);
  console.log(`\nCPU bound of "batch + codec" (this process and redis-server share ${os.cpus().length} cores; the rate cannot exceed cores / CPU per session, even if neither ever waited for the other):`);
  for (const r of rows) console.log(`- c=${r.conc}: ${cpuBound(r.codecOn, r.c.rate, os.cpus().length, r.conc >= 1000 ? 3 : 2)}`);
  for (const r of rows) console.log(`- 2 KB, c=${r.conc}: ${cpuBound(r.hot2k, r.c2k.rate, os.cpus().length, 3)}`);

  // Leave nothing behind.
  const keys = [
    ...hotIds.flatMap((id) => [`bench:${run}:on:${id}`, `bench:${run}:on:2k${id}`, `bench:${run}:off:${id}`, `bench:${run}:v1:${id}`]),
    ...crIds.flatMap((id) => [`bench:${run}:cr:${id}`, `bench:${run}:cr:2k${id}`]),
  ];
  for (let i = 0; i < keys.length; i += 500) await ioredis.del(...keys.slice(i, i + 500));
  for (const s of [hotOn, hotCmd, hotOff, hotV1]) await s.close();
  await ioredis.quit();
  await node.quit();
}

await main();
