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

const bench = new Bench({ time: TIME, warmupTime: 300 });
bench
  .add('no subscriber (a)', () => { for (let i = 0; i < BATCH; i++) request(); }, { beforeAll: unsubscribe })
  .add('one subscriber on every channel', () => { for (let i = 0; i < BATCH; i++) request(); }, { beforeAll: subscribe, afterAll: unsubscribe })
  .add('no subscriber (b)', () => { for (let i = 0; i < BATCH; i++) request(); }, { beforeAll: unsubscribe })
  .add('the hooks alone (2 hasSubscribers reads)', () => {
    for (let i = 0; i < BATCH; i++) sink += (load.hasSubscribers ? 1 : 0) + (commit.hasSubscribers ? 1 : 0);
  }, { beforeAll: unsubscribe });

await bench.run();
assert.ok(seen > 0, 'the subscriber saw messages');
assert.equal(sink, 0);

const ns = (t) => (t.result.latency.mean * 1e6) / BATCH;
const rows = bench.tasks.map((t) => ({ row: t.name, 'ns/request': ns(t).toFixed(1), 'rme %': t.result.latency.rme.toFixed(2) }));
const [a, sub, b, hooks] = bench.tasks.map(ns);
const base = (a + b) / 2;
console.log(`node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu?'}, codec ${isNativeEnabled() ? 'native' : 'js'}, ${BATCH} requests per sample`);
console.table(rows);
console.log(`no subscriber: runs (a) and (b) differ by ${Math.abs(a - b).toFixed(1)} ns/request (noise); the hooks alone cost ${hooks.toFixed(2)} ns/request (${((hooks / base) * 100).toFixed(2)} % of a request)`);
console.log(`one subscriber on every channel: +${(sub - base).toFixed(1)} ns/request (${(((sub - base) / base) * 100).toFixed(1)} %), ${seen} messages delivered`);
