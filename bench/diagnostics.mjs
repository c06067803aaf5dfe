// What the diagnostics channels cost per request (#18.5). Run with
// `npm run bench:diagnostics` (builds dist/ first).
//
// A request here is the core's whole sync path on MemoryStore: load a signed
// cookie, read and change a key, commit (patch + Set-Cookie), the most
// sensitive case (no I/O to hide a cost in). Rows:
//   - no subscriber, run twice, interleaved with the others: their difference
//     is the run's noise, the yardstick for "unmeasurable";
//   - one subscriber on every channel (a counter, so the cost is ours:
//     building and publishing the messages);
//   - the hooks alone: the `hasSubscribers` reads a request makes with no
//     subscriber (load, commit), timed in a loop of their own.
import assert from 'node:assert/strict';
import dc from 'node:diagnostics_channel';
import os from 'node:os';
import { createRequire } from 'node:module';
import { Bench } from 'tinybench';

const require = createRequire(import.meta.url);
const { createSessionManager, MemoryStore, channelNames, isNativeEnabled } = require('../dist/index.js');

const BATCH = 200;
const TIME = Number(process.env.BENCH_TIME_MS ?? 1500);
const m = createSessionManager('sid', new MemoryStore(), { secret: 'bench secret, long enough to sign', cookie: { secure: false } });
const first = m.load(undefined);
first.set('n', 0);
const cookie = m.commit(first)[0].split(';')[0];

function request() {
  const s = m.load(cookie);
  s.set('n', s.get('n') + 1);
  return m.commit(s);
}

// Correct before timed: the session is found and its change committed.
const before = m.load(cookie).get('n');
request();
assert.equal(m.load(cookie).get('n'), before + 1);

let seen = 0;
const count = () => { seen++; };
const names = Object.values(channelNames);
const subscribe = () => { for (const n of names) dc.subscribe(n, count); };
const unsubscribe = () => { for (const n of names) dc.unsubscribe(n, count); };

// The checks a request makes with nobody subscribed: load's clock, commit's trace check.
const load = dc.channel(channelNames.sessionLoad);
const commit = dc.channel(channelNames.sessionCommit);
let sink = 0;

// The machine is shared: rounds interleave the rows; each row reports its fastest, median and slowest round.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const runs = { a: [], sub: [], b: [], hooks: [] };
// The hooks alone take about a nanosecond: many more of them per sample keep the clock out.
const HOOK_BATCH = BATCH * 100;
const perRequest = (t) => (t.result.latency.mean * 1e6) / (t.name === 'hooks' ? HOOK_BATCH : BATCH);
for (let r = 0; r < ROUNDS; r++) {
  const bench = new Bench({ time: TIME / ROUNDS, warmupTime: 100 });
  bench
    .add('a', () => { for (let i = 0; i < BATCH; i++) request(); }, { beforeAll: unsubscribe })
    .add('sub', () => { for (let i = 0; i < BATCH; i++) request(); }, { beforeAll: subscribe, afterAll: unsubscribe })
    .add('b', () => { for (let i = 0; i < BATCH; i++) request(); }, { beforeAll: unsubscribe })
    .add('hooks', () => {
      for (let i = 0; i < HOOK_BATCH; i++) sink += (load.hasSubscribers ? 1 : 0) + (commit.hasSubscribers ? 1 : 0);
    }, { beforeAll: unsubscribe });
  await bench.run();
  for (const t of bench.tasks) runs[t.name].push(perRequest(t));
}
assert.ok(seen > 0, 'the subscriber saw messages');
assert.equal(sink, 0);

const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
// The summary uses each row's fastest round: on a shared machine it is the one least disturbed by others.
const [a, sub, b, hooks] = ['a', 'sub', 'b', 'hooks'].map((k) => Math.min(...runs[k]));
const labels = { a: 'no subscriber (a)', sub: 'one subscriber on every channel', b: 'no subscriber (b)', hooks: 'the hooks alone (2 hasSubscribers reads)' };
const rows = Object.entries(runs).map(([k, xs]) => ({ row: labels[k], 'ns/request (fastest round)': Math.min(...xs).toFixed(1), 'median': median(xs).toFixed(1), 'slowest': Math.max(...xs).toFixed(1) }));
const base = (a + b) / 2;
console.log(`node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu?'}, codec ${isNativeEnabled() ? 'native' : 'js'}, ${BATCH} requests per sample, ${ROUNDS} rounds`);
console.table(rows);
console.log(`no subscriber: runs (a) and (b) differ by ${Math.abs(a - b).toFixed(1)} ns/request (noise); the hooks alone cost ${hooks.toFixed(2)} ns/request (${((hooks / base) * 100).toFixed(2)} % of a request)`);
const signed = (v) => `${v >= 0 ? '+' : ''}${v.toFixed(1)}`;
console.log(`one subscriber on every channel: ${signed(sub - base)} ns/request (${(((sub - base) / base) * 100).toFixed(1)} %), ${seen} messages delivered`);
