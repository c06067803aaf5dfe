// The session layer alone, in-process, no sockets (issue #15): per request
// load(cookie header) -> get -> set -> commit, round-robin over 1,000
// sessions, for each store (MemoryStore, sealed CookieStore,
// SharedMemoryStore) with the native codec and with HOTSESSION_NO_NATIVE=1,
// against a floor row: the naive layer of bench/lib/naive-layer.mjs (regex,
// createHmac, JSON in a Map). Each mode runs in a child process of its own
// (the codec is picked once per process); each row runs several rounds and
// reports the median, so two commits can be compared row by row. Time is the
// process's CPU time (process.threadCpuUsage where Node has it, else
// process.cpuUsage), not wall time: on a shared, loaded machine wall time
// mostly measures the neighbours. For a figure independent of load, count
// instructions instead: bench/layer-count.mjs (callgrind).
//   npm run bench:layer [-- --rounds 9 --requests 200000 --json]
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { int, table } from './lib/format.mjs';
import { naiveLayer } from './lib/naive-layer.mjs';

const require = createRequire(import.meta.url);
const self = fileURLToPath(import.meta.url);
const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(args[i + 1]);
};
const QUICK = args.includes('--quick') || process.env.BENCH_QUICK === '1';
const SESSIONS = arg('sessions', 1000);
const ROUNDS = arg('rounds', QUICK ? 3 : 7);
const REQUESTS = arg('requests', QUICK ? 20_000 : 100_000);
const SECRET = 'hotsession layer bench secret: long enough to be real';
const NAME = 'sid';

/** "sid=v; Path=/; HttpOnly" -> "sid=v", as a browser sends it back. */
const pairOf = (setCookie) => setCookie.slice(0, setCookie.indexOf(';'));

/** One request of a hotsession manager; sync for every store measured here. */
function hotRequest(m, header) {
  const s = m.load(header);
  assert.ok(!(s instanceof Promise), 'the layer bench measures synchronous stores only');
  s.set('n', (s.get('n') ?? 0) + 1);
  const out = m.commit(s);
  return out.length === 0 ? header : pairOf(out[0]);
}

function naiveRequest(layer, header) {
  const s = layer.load(header);
  s.data.n = (s.data.n ?? 0) + 1;
  s.changed = true;
  const c = layer.commit(s);
  return c === null ? header : pairOf(c);
}

/** Logs in `SESSIONS` times, checks one session counts up, returns the jar. */
function prepare(request, login) {
  const jar = [];
  for (let i = 0; i < SESSIONS; i++) jar.push(login());
  assert.equal(new Set(jar).size, SESSIONS, 'distinct sessions');
  return jar;
}

/** CPU microseconds (user + system) this thread, or this process where Node has no per-thread figure. */
const cpuMicros = typeof process.threadCpuUsage === 'function'
  ? () => { const u = process.threadCpuUsage(); return u.user + u.system; }
  : () => { const u = process.cpuUsage(); return u.user + u.system; };

/** Median CPU ns/request over ROUNDS rounds of REQUESTS requests, cookies replaced as a browser would. */
function time(request, jar) {
  const perRound = [];
  for (let r = 0; r < ROUNDS + 1; r++) {
    const t0 = cpuMicros();
    for (let i = 0; i < REQUESTS; i++) {
      const k = i % SESSIONS;
      jar[k] = request(jar[k]);
    }
    const ns = ((cpuMicros() - t0) * 1000) / REQUESTS;
    if (r > 0) perRound.push(ns); // round 0 warms the JIT up
  }
  perRound.sort((a, b) => a - b);
  return { nsPerRequest: perRound[Math.floor(perRound.length / 2)], min: perRound[0], max: perRound[perRound.length - 1] };
}

function hotRow(hs, store, label, mode) {
  const m = hs.createSessionManager(NAME, store, { secret: SECRET, cookie: { maxAge: 15 * 60_000 } });
  const login = () => {
    const s = m.load('');
    s.set('user', 'u');
    s.set('n', 0);
    return pairOf(m.commit(s)[0]);
  };
  const request = (h) => hotRequest(m, h);
  const jar = prepare(request, login);
  // Correct before timed: two requests on one session count up.
  jar[0] = request(request(jar[0]));
  assert.equal(m.load(jar[0]).get('n'), 2, `${label}: writes persist`);
  return { name: `${label} (${mode})`, store: label, mode, sessions: SESSIONS, ...time(request, jar) };
}

function naiveRow() {
  const layer = naiveLayer(NAME, SECRET);
  const login = () => {
    const s = layer.load('');
    s.data = { user: 'u', n: 0 };
    return pairOf(layer.commit(s));
  };
  const request = (h) => naiveRequest(layer, h);
  const jar = prepare(request, login);
  jar[0] = request(request(jar[0]));
  assert.equal(layer.load(jar[0]).data.n, 2, 'naive: writes persist');
  return { name: 'naive floor: Map + createHmac', store: 'naive', mode: '-', sessions: SESSIONS, ...time(request, jar) };
}

/** The rows a child measures, as [label, store factory] (the naive floor aside). */
export function storeRows(hs, CookieStore) {
  return [
    ['memory', () => new hs.MemoryStore()],
    ['cookie', () => new CookieStore({ secret: SECRET })],
    ['shared-memory', () => new hs.SharedMemoryStore({ name: `layer-bench-${process.pid}` })],
  ];
}

/**
 * One row's request function, prepared and checked, for a driver that runs
 * its own loop (bench/layer-count.mjs): returns { request, jar }.
 */
export function prepareRow(hs, CookieStore, label) {
  if (label === 'naive') {
    const layer = naiveLayer(NAME, SECRET);
    const request = (h) => naiveRequest(layer, h);
    const jar = prepare(request, () => { const s = layer.load(''); s.data = { user: 'u', n: 0 }; return pairOf(layer.commit(s)); });
    return { request, jar };
  }
  const make = storeRows(hs, CookieStore).find(([l]) => l === label)?.[1];
  if (!make) throw new Error(`unknown row ${label}`);
  const m = hs.createSessionManager(NAME, make(), { secret: SECRET, cookie: { maxAge: 15 * 60_000 } });
  const request = (h) => hotRequest(m, h);
  const jar = prepare(request, () => { const s = m.load(''); s.set('user', 'u'); s.set('n', 0); return pairOf(m.commit(s)[0]); });
  return { request, jar };
}

function child() {
  const hs = require('hotsession');
  const { CookieStore } = require('hotsession/cookie');
  const mode = hs.isNativeEnabled() ? 'native' : 'js';
  const rows = [];
  if (mode === 'native') rows.push(naiveRow());
  for (const [label, make] of storeRows(hs, CookieStore)) rows.push(hotRow(hs, make(), label, mode));
  process.stdout.write(JSON.stringify(rows) + '\n');
  process.exit(0); // the stores' timers would keep the child alive
}

function parent() {
  const rows = [];
  for (const env of [{}, { HOTSESSION_NO_NATIVE: '1' }]) {
    const r = spawnSync(process.execPath, [self, '--child', ...args], { env: { ...process.env, ...env }, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`layer bench child (${JSON.stringify(env)}) failed: ${r.stderr}`);
    rows.push(...JSON.parse(r.stdout.trim().split('\n').pop()));
  }
  const floor = rows.find((r) => r.store === 'naive');
  for (const r of rows) {
    r.ops = 1e9 / r.nsPerRequest;
    // A ratio of times, unlike the req/s ratios beside it in bench/run.mjs's
    // table: below 1 is faster than the naive layer, and the label says so.
    r.baseline = 'the naive floor\'s time (lower is better)';
    r.ratio = r.nsPerRequest / floor.nsPerRequest;
  }
  if (args.includes('--json')) {
    process.stdout.write(JSON.stringify({ rows }) + '\n');
    return;
  }
  console.log(`session layer in-process: load -> get -> set -> commit, ${SESSIONS} sessions, median of ${ROUNDS} rounds x ${REQUESTS} requests, CPU time`);
  console.log(`Node ${process.version}, ${os.cpus()[0]?.model?.trim()} x${os.cpus().length}, load average ${os.loadavg()[0].toFixed(2)}\n`);
  console.log(table(
    ['row', 'CPU ns/request (median)', 'min', 'max', 'time vs the floor'],
    rows.map((r) => [r.name, int(r.nsPerRequest), int(r.min), int(r.max), `${r.ratio.toFixed(2)}x`]),
    ['l', 'r', 'r', 'r', 'r'],
  ));
}

if (process.argv[1] === self) {
  if (args.includes('--child')) child();
  else parent();
}
