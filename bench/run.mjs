#!/usr/bin/env node
// `npm run bench`: the micro benches, the store benches and the HTTP
// scenarios in one run, one summary table, and the results in
// bench/results/ (JSON, Markdown, SVG chart). `--help` lists the options.
//
// Every HTTP row runs its server in a child process and the load generator
// (wrk when installed, else autocannon) in another; the harness only
// orchestrates and measures (server peak RSS and CPU from /proc, the load
// generator's CPU time from this process's reaped-children counters).
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { matcher, parseArgs, usage } from './lib/args.mjs';
import { cleanMemcached, cleanRedis, dropMongo, probe, urls } from './lib/backends.mjs';
import { checkHello, createSessions, signedIds, writeCookieFile } from './lib/cookies.mjs';
import { duration as fmtDuration, int } from './lib/format.mjs';
import { findWrk, measure, wrkVersion } from './lib/loadgen.mjs';
import { cpuSeconds } from './lib/proc.mjs';
import { computeRatios, headlines, summaryTable, writeResults } from './lib/report.mjs';
import { scenarios, selectRows } from './lib/scenarios.mjs';
import { startServer } from './lib/servers.mjs';
import { ferretBinary, startFerret } from '../test/helpers/ferret-procs.mjs';
import { findSubBenches, redisCeiling, runSubBench } from './lib/subbench.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);

let opts;
try {
  opts = parseArgs(process.argv.slice(2));
} catch (err) {
  console.error(`${err.message}\n\n${usage}`);
  process.exit(2);
}
if (opts.help) {
  console.log(usage);
  process.exit(0);
}
const match = matcher(opts.only);
if (opts.list) {
  for (const s of scenarios()) for (const v of s.variants) console.log(v === 'hello' ? s.name : `${s.name}:${v}`);
  process.exit(0);
}

const startedAt = new Date();
const runId = `${startedAt.getTime().toString(36)}${process.pid}`;
const prefix = `hsbench:${runId}:`;
const mongoDb = `hsbench_${runId}`;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'hotsession-bench-'));
const outDir = path.resolve(opts.out ?? path.join(root, 'bench', 'results'));
const t0 = Date.now();

// Servers alive right now, so an interrupted run leaves no process behind.
const live = new Set();
const stopAll = () => { for (const s of live) s.stop(); };
process.once('SIGINT', () => { stopAll(); rmSync(tmp, { recursive: true, force: true }); process.exit(130); });
// A crash of the harness itself must not leave servers running either.
process.once('exit', stopAll);

const wrkBin = opts.loadgen === 'autocannon' ? null : findWrk();
if (opts.loadgen === 'wrk' && wrkBin === null) {
  console.error('--loadgen wrk: wrk is not installed (Debian: apt-get install wrk)');
  process.exit(2);
}
const loadgen = wrkBin === null ? 'autocannon' : 'wrk';

function codecMode() {
  try {
    return require('hotsession').isNativeEnabled() ? 'native' : 'js';
  } catch (err) {
    return `unknown (${err.code ?? err.message})`;
  }
}

const machine = {
  node: process.version,
  cpu: os.cpus()[0]?.model?.trim() ?? 'unknown CPU',
  cores: os.cpus().length,
  platform: os.platform(),
  arch: os.arch(),
  totalMemory: os.totalmem(),
  loadavg: os.loadavg(),
  codec: codecMode(),
  loadgen,
  loadgenVersion: wrkBin === null ? `autocannon ${require('autocannon/package.json').version}` : wrkVersion(wrkBin),
};

const rows = selectRows(match);
// With --only, a micro/store bench runs when its file name matches too.
const subs = opts.skipMicro ? [] : findSubBenches({ stores: !opts.skipStores })
  .filter((b) => opts.only === null || match(b.file));
const wantCeiling = !opts.skipMicro && !opts.skipStores && (opts.only === null || match('redis-benchmark'));

console.log(`hotsession bench: ${rows.length} HTTP rows, ${subs.length} micro/store benches; ${loadgen}${loadgen === 'wrk' ? ` -t${opts.threads}` : ''}, ${opts.connections} connections, ${opts.warmup}+${opts.duration} s per row`);
console.log(`Node ${machine.node}, ${machine.cpu} x${machine.cores}, codec ${machine.codec}; results -> ${path.relative(process.cwd(), outDir) || '.'}`);
// The server and the load generator each want a core; anything else running skews the numbers.
const busy = machine.loadavg[0] > machine.cores * 0.5;
if (busy) console.log(`! load average ${machine.loadavg[0].toFixed(2)} on ${machine.cores} cores: the machine is busy, expect noisy numbers`);

// ---- progress ------------------------------------------------------------

const rowOverhead = { sum: 0, n: 0 };
// Seconds the load generator runs per row (wrk rounds to whole seconds).
function loadSeconds() {
  const whole = (s) => (loadgen === 'wrk' ? Math.max(1, Math.round(s)) : s);
  return whole(opts.duration) + (opts.warmup > 0 ? whole(opts.warmup) : 0);
}
function rowEstimate() {
  // Server start, logins and shutdown: measured as the run goes, 2 s until then.
  return (rowOverhead.n === 0 ? 2 : rowOverhead.sum / rowOverhead.n) + loadSeconds();
}
const totalSteps = subs.length + (wantCeiling ? 1 : 0) + rows.length;
let step = 0;
function progress(what, remainingRows) {
  step++;
  const left = remainingRows * rowEstimate();
  const more = step <= subs.length ? ' + the micro/store benches' : '';
  console.log(`[${step}/${totalSteps}] ${what}  (elapsed ${fmtDuration((Date.now() - t0) / 1000)}${left > 0 ? `, ~${fmtDuration(left)} of HTTP rows left${more}` : ''})`);
}

// ---- 1 and 2: micro and store benches -------------------------------------

const subBenches = [];
const subRows = [];
for (const b of subs) {
  progress(`${b.kind} bench ${b.file}`, rows.length);
  const r = await runSubBench(b, { quick: opts.quick, runId, root, timeoutMs: (opts.quick ? 180 : 1200) * 1000 });
  subBenches.push(r);
  const how = r.json ? `${r.rows.length} JSON rows` : r.text ? 'text captured' : 'no output';
  console.log(`      ${r.error ? `FAILED: ${r.error.split('\n')[0]}` : how} in ${r.seconds.toFixed(1)} s`);
  for (const row of r.rows) subRows.push({ section: r.kind, file: r.file, loadgen: '-', cpuShare: null, ...row });
}

const backendState = new Map();
async function backendDown(name) {
  if (!backendState.has(name)) backendState.set(name, await probe(name));
  return backendState.get(name);
}

if (wantCeiling) {
  progress('redis-benchmark -P 16 GET (Redis ceiling)', rows.length);
  const down = await backendDown('redis');
  const u = new URL(urls.redis);
  const c = down === null
    ? await redisCeiling({ host: u.hostname, port: Number(u.port || 6379), requests: opts.quick ? 200_000 : Math.max(500_000, Math.round(opts.duration * 300_000)) })
    : { skip: down };
  if (c.skip !== undefined) {
    console.log(`      skipped: ${c.skip}`);
  } else {
    console.log(`      ${int(c.ops)} GET/s`);
    subRows.push({ section: 'store', name: 'redis-benchmark -P 16 GET (Redis ceiling)', loadgen: 'redis-benchmark', ops: c.ops, p50Ms: c.p50Ms, p99Ms: c.p99Ms, cpuShare: c.cpuShare, ratio: null, baseline: null, note: c.command });
  }
}

// ---- 3: HTTP scenarios -----------------------------------------------------

const results = [];
const memcachedKeys = [];
const cookieFile = path.join(tmp, 'cookies.txt');

async function runRow(row) {
  const { scenario: s, variant, name } = row;
  const base = {
    name, scenario: s.name, label: s.label, variant, stack: s.stack, store: s.store,
    baselineScenario: s.baseline, baseline: null, rawScenario: s.raw, loadgen,
  };
  // FerretDB v1 (the MongoDB stand-in here) deadlocks a database once ~100
  // updates are in flight on it, which 100 connections of an unbatched stack
  // reach: unless MONGODB_URL names a real server, each Mongo row gets a
  // FerretDB process of its own, so one stalled row cannot stall the next.
  const ownMongo = s.backend === 'mongo' && process.env.MONGODB_URL === undefined;
  if (ownMongo) {
    const missing = ferretBinary();
    if (missing !== undefined) return { ...base, status: process.env.HOTSESSION_REQUIRE_BACKENDS === '1' ? 'failed' : 'skipped', reason: missing.reason };
  } else if (s.backend !== null) {
    const down = await backendDown(s.backend);
    // CI sets HOTSESSION_REQUIRE_BACKENDS=1: there a missing backend fails its rows.
    if (down !== null) return { ...base, status: process.env.HOTSESSION_REQUIRE_BACKENDS === '1' ? 'failed' : 'skipped', reason: down };
  }
  let ferret = null;
  if (ownMongo) {
    try {
      ferret = await startFerret();
    } catch (err) {
      return { ...base, status: 'failed', reason: `FerretDB did not start: ${err.message}` };
    }
  }
  const env = { ...s.env, HS_STORE: s.store ?? '', HS_RUN_ID: runId, REDIS_URL: urls.redis, MEMCACHED_SERVERS: urls.memcached, MONGODB_URL: ferret?.url ?? urls.mongo };
  let server;
  try {
    server = await startServer(s.server, env);
  } catch (err) {
    await ferret?.destroy();
    return { ...base, status: 'failed', reason: `server did not start: ${err.message}` };
  }
  if (server.skip !== undefined) {
    await ferret?.destroy();
    return { ...base, status: 'skipped', reason: server.skip };
  }
  live.add(server);
  try {
    const reqPath = variant === 'hello' ? '/' : `/${variant}`;
    let cookies = [];
    if (variant === 'hello') await checkHello(server.port, reqPath);
    else cookies = await createSessions(server.port, s.sessions ?? opts.connections);
    if (s.store === 'memcached') {
      // The key prefixes bench/servers give each stack (connect-memcached's has "cm:").
      const keyPrefix = s.stack === 'express-session' ? `${prefix}cm:` : prefix;
      for (const id of signedIds(cookies)) memcachedKeys.push(keyPrefix + id);
    }
    writeCookieFile(cookieFile, cookies);
    const lg = { kind: loadgen, bin: wrkBin, port: server.port, path: reqPath, cookieFile, connections: opts.connections, threads: opts.threads };
    if (opts.warmup > 0) await measure({ ...lg, duration: opts.warmup });
    const cpu0 = cpuSeconds(server.pid);
    const m = await measure({ ...lg, duration: opts.duration });
    const cpu1 = cpuSeconds(server.pid);
    return {
      ...base,
      status: 'ok',
      reason: '',
      connections: opts.connections,
      sessions: cookies.length,
      rps: m.rps,
      requests: m.requests,
      p50Ms: m.p50Ms,
      p99Ms: m.p99Ms,
      non2xx: m.non2xx,
      errors: m.errors,
      serverPeakRss: server.peakRss(),
      serverCpuShare: cpu0 === null || cpu1 === null ? null : (cpu1 - cpu0) / m.wallSeconds,
      // The server's CPU time over the requests it answered in the same span (µs);
      // computeRatios subtracts the raw row's to give the session cost.
      serverCpuUsPerRequest: cpu0 === null || cpu1 === null || !(m.requests > 0) ? null : ((cpu1 - cpu0) * 1e6) / m.requests,
      sessionCostUs: null,
      loadgenCpuSeconds: m.cpuSeconds,
      loadgenCpuShare: m.cpuShare,
      loadgenCapacity: m.capacity,
      wallSeconds: m.wallSeconds,
    };
  } catch (err) {
    const tail = server.stderr();
    return { ...base, status: 'failed', reason: err.message + (tail ? `\nserver stderr: ${tail.split('\n').slice(-5).join('\n')}` : '') };
  } finally {
    await server.stop();
    live.delete(server);
    await ferret?.destroy();
  }
}

for (let i = 0; i < rows.length; i++) {
  const row = rows[i];
  progress(`${row.name} - ${row.scenario.label}`, rows.length - i);
  const began = Date.now();
  const r = await runRow(row);
  if (r.status === 'ok') {
    const spent = (Date.now() - began) / 1000;
    rowOverhead.sum += Math.max(0, spent - loadSeconds());
    rowOverhead.n++;
    const sat = r.loadgenCpuShare !== null && r.loadgenCpuShare > 0.9 ? ' (load generator saturated!)' : '';
    const bad = r.non2xx + r.errors > 0 ? `, ${int(r.non2xx)} non-2xx, ${int(r.errors)} errors` : '';
    const cpu = r.serverCpuUsPerRequest === null ? '' : `, server CPU ${r.serverCpuUsPerRequest.toFixed(1)} µs/req`;
    console.log(`      ${int(r.rps)} req/s${cpu}, p99 ${r.p99Ms.toFixed(2)} ms, loadgen CPU ${r.loadgenCpuShare === null ? 'n/a' : Math.round(r.loadgenCpuShare * 100) + '%'}${sat}${bad}`);
  } else {
    console.log(`      ${r.status}: ${r.reason.split('\n')[0]}`);
  }
  results.push(r);
}

// ---- cleanup ---------------------------------------------------------------

const used = new Set(results.filter((r) => r.status !== 'skipped').map((r) => r.store));
const cleanup = [];
if (used.has('redis')) cleanup.push(cleanRedis(prefix).then((n) => `redis: ${n} keys under ${prefix} deleted`));
if (used.has('mongo') && process.env.MONGODB_URL !== undefined) cleanup.push(dropMongo(mongoDb).then(() => `mongo: database ${mongoDb} dropped`));
if (memcachedKeys.length > 0) cleanup.push(cleanMemcached(memcachedKeys).then((n) => `memcached: ${n} of the ${memcachedKeys.length} sessions created deleted (any others expire with their 15 min TTL)`));
for (const c of await Promise.allSettled(cleanup)) {
  console.log(`cleanup: ${c.status === 'fulfilled' ? c.value : `failed: ${c.reason?.message}`}`);
}
rmSync(tmp, { recursive: true, force: true });

// ---- report ------------------------------------------------------------------

computeRatios(results);
const heads = headlines(results, subRows);
const argv = process.argv.slice(2).map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`));
const result = {
  startedAt: startedAt.toISOString(),
  seconds: (Date.now() - t0) / 1000,
  command: `node bench/run.mjs${argv.length ? ' ' + argv.join(' ') : ''}`,
  runId,
  machine,
  options: { ...opts },
  busy,
  cookieMapping: loadgen === 'wrk'
    ? 'wrk: each thread takes its share of the cookies (one per connection of that thread) and hands them out round-robin, one per request; wrk gives Lua no handle on the connection, so a cookie is bound to a request slot, not to a socket (see bench/wrk/sessions.lua).'
    : 'autocannon: connection i sends cookie i for its whole life (setupClient), so a row with more sessions than connections uses only the first ones.',
  rows: results,
  subRows,
  subBenches,
  headlines: heads,
};

console.log('');
console.log(summaryTable(results, subRows));
for (const b of subBenches.filter((x) => x.text)) {
  console.log(`\n${b.file} (its own output):\n${b.text}`);
}
if (heads.length > 0) {
  console.log('');
  for (const h of heads) console.log(h.line);
}
const sat = results.filter((r) => r.status === 'ok' && r.loadgenCpuShare !== null && r.loadgenCpuShare > 0.9);
if (sat.length > 0) console.log(`\n! load generator above 90% CPU on: ${sat.map((r) => r.name).join(', ')}; those rows measure ${loadgen} as much as the server.`);
const files = writeResults(outDir, result);
console.log(`\nwrote ${Object.values(files).map((f) => path.relative(process.cwd(), f)).join(', ')}`);
const failed = results.filter((r) => r.status === 'failed');
if (failed.length > 0) {
  console.log(`${failed.length} row(s) failed:`);
  for (const r of failed) console.log(`- ${r.name}: ${r.reason.replace(/\n/g, '\n    ')}`);
  process.exitCode = 1;
}
