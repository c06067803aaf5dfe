// Store-level Redis bench: sessions read + written per second (a get then
// a set of a ~300-byte session record per session) through each store's own
// API, at several concurrencies, on the same Redis in the same run:
//   - hotsession RedisStore, batching on  (ioredis client): records are bytes;
//     on a standalone server each write batch is one EVALSHA (the default)
//   - the same with `scripts: false`: each write batch as corked single
//     commands (SET PX / PEXPIRE / DEL), as on a cluster
//   - the same, plus the core's codec work per session (unframe, msgpack
//     decode, encode, frame), to compare like for like with connect-redis,
//     whose store API parses and stringifies JSON itself
//   - hotsession RedisStore, batching off (ioredis client)
//   - connect-redis@9 (node-redis client, the only one it supports; callback API)
// plus `redis-benchmark -P 16 -t get` as the ceiling (GET commands/s).
//   npm run bench:redis      (env: REDIS_URL, BENCH_TIME_MS=2000, BENCH_CONC=1,100,1000, BENCH_ROUNDS=3)
// Not part of the tests. Absolute numbers depend on the machine; compare ratios.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import os from 'node:os';
import { codecStep, connectStep, storeStep } from './lib/store-steps.mjs';

const require = createRequire(import.meta.url);
const { RedisStore } = require('../dist/stores/redis.js');
const { codec, isNativeEnabled } = require('../dist/codec/index.js');
const { encodeData, decodeData } = require('../dist/codec/msgpack.js');
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
const expressSession = () => ({ cookie: { originalMaxAge: TTL, expires: new Date(Date.now() + TTL).toISOString(), secure: false, httpOnly: true, path: '/', sameSite: 'lax' }, ...structuredClone(data) });

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

  const hotOn = new RedisStore({ client: ioredis, prefix: `bench:${run}:on:`, timeout: 10_000, maxPending: 100_000 });
  const hotCmd = new RedisStore({ client: ioredis, prefix: `bench:${run}:on:`, timeout: 10_000, maxPending: 100_000, scripts: false });
  const hotOff = new RedisStore({ client: ioredis, prefix: `bench:${run}:off:`, timeout: 10_000, batch: false, maxPending: 100_000 });
  const cr = new ConnectRedisStore({ client: node, prefix: `bench:${run}:cr:` });

  // Seed every id, and check each contender reads back what it wrote before timing anything.
  const hotIds = ids('h', maxConc);
  const crIds = ids('c', maxConc);
  const rec = codec.frame(encodeData(data), 0, Date.now());
  console.error(`hotsession record: ${rec.length} bytes; connect-redis record: ${JSON.stringify(expressSession()).length} bytes`);
  await Promise.all(hotIds.flatMap((id) => [hotOn.set(id, rec, TTL), hotOff.set(id, rec, TTL)]));
  await Promise.all(crIds.map((id) => new Promise((res, rej) => cr.set(id, expressSession(), (e) => (e ? rej(e) : res())))));
  await codecStep(hotOn, TTL)(hotIds[0]);
  assert.equal(decodeData(codec.unframe(await hotOn.get(hotIds[0])).body).views, 1);
  await connectStep(cr)(crIds[0]);
  assert.equal((await new Promise((res) => cr.get(crIds[0], (_, s) => res(s)))).views, 1);

  const rows = [];
  for (const conc of CONC) {
    const cells = {
      on: () => measure(conc, hotIds, storeStep(hotOn, rec, TTL)),
      codecOn: () => measure(conc, hotIds, codecStep(hotOn, TTL)),
      cmd: () => measure(conc, hotIds, storeStep(hotCmd, rec, TTL)),
      off: () => measure(conc, hotIds, storeStep(hotOff, rec, TTL)),
      c: () => measure(conc, crIds, connectStep(cr)),
    };
    const best = {};
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, run] of Object.entries(cells)) {
        const m = await run();
        if (process.env.BENCH_VERBOSE) console.error(`  c=${conc} ${name} round ${round}: ${fmt(m.rate)}/s, ${m.cpuUs.toFixed(1)} µs CPU`);
        if (best[name] === undefined || m.rate > best[name].rate) best[name] = m;
      }
    }
    const { on, codecOn, cmd, off, c } = best;
    rows.push({ conc, on, codecOn, cmd, off, c });
    console.error(`c=${conc}: on ${fmt(on.rate)}/s, on+codec ${fmt(codecOn.rate)}/s, scripts off ${fmt(cmd.rate)}/s, off ${fmt(off.rate)}/s, connect-redis ${fmt(c.rate)}/s`);
  }
  const ceil = ceiling();

  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  console.log(`\n## Redis store: sessions read + written per second (get + set of one ~300-byte record)\n`);
  console.log(`Node ${process.version}, ${cpu} x${os.cpus().length}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}, codec: ${isNativeEnabled() ? 'native' : 'JS'}, best of ${ROUNDS} rounds of ${TIME} ms per cell, Redis ${REDIS_URL}`);
  console.log('hotsession on ioredis; connect-redis@9 on node-redis (the client each supports).\n');
  console.log('Rates in sessions/s; in brackets, CPU µs per session: this Node process / redis-server (they share the cores).');
  console.log('"batch" sends each write batch as one EVALSHA (the default on a standalone server); "batch, scripts off" as single commands.\n');
  console.log('| concurrency | hotsession batch | hotsession batch + codec | hotsession batch, scripts off | hotsession no batch | connect-redis (JSON incl.) | batch / connect-redis | batch+codec / connect-redis | scripts off / connect-redis | batch / no batch | batch key reads+writes/s vs ceiling |');
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    const errs = r.on.errors + r.codecOn.errors + r.cmd.errors + r.off.errors + r.c.errors;
    // A session is two key operations (a read and a write, whatever commands carry them); the ceiling counts GETs.
    const pct = ceil ? `${((2 * r.on.rate / ceil) * 100).toFixed(0)}%` : 'n/a';
    const cell = (m) => `${fmt(m.rate)} (${m.cpuUs.toFixed(1)} / ${m.redisUs === null ? 'n/a' : m.redisUs.toFixed(1)})`;
    console.log(`| ${r.conc} | ${cell(r.on)} | ${cell(r.codecOn)} | ${cell(r.cmd)} | ${cell(r.off)} | ${cell(r.c)} | ${x(r.on.rate, r.c.rate)} | ${x(r.codecOn.rate, r.c.rate)} | ${x(r.cmd.rate, r.c.rate)} | ${x(r.on.rate, r.off.rate)} | ${pct}${errs ? ` (${errs} errors)` : ''} |`);
  }
  console.log(`\nCeiling: redis-benchmark -P 16 -t get -q: ${ceil === null ? 'n/a (redis-benchmark not found)' : `${fmt(ceil)} GET/s`}`);
  console.log(`\nCPU bound (this process and redis-server share ${os.cpus().length} cores; the rate cannot exceed cores / CPU per session, even if neither ever waited for the other):`);
  for (const r of rows) console.log(`- c=${r.conc}: ${cpuBound(r.on, r.c.rate, os.cpus().length, 3)}`);

  // Leave nothing behind.
  const keys = [...hotIds.map((id) => `bench:${run}:on:${id}`), ...hotIds.map((id) => `bench:${run}:off:${id}`), ...crIds.map((id) => `bench:${run}:cr:${id}`)];
  for (let i = 0; i < keys.length; i += 500) await ioredis.del(...keys.slice(i, i + 500));
  await hotOn.close();
  await hotCmd.close();
  await hotOff.close();
  await ioredis.quit();
  await node.quit();
}

await main();
