// Codec micro bench of the per-key record (v2): what one request costs the
// codec when it reads one key of a 2 KB session and writes one key back, the
// way a memory store serves it: scan the record, find and decode one value,
// encode the new value, build the patch, apply it. Native codec, JS fallback
// and JSON.parse + JSON.stringify of the same session side by side, then the
// parts, which are the measurements behind the codec's fast paths.
//   npm run bench:record            (BENCH_TIME_MS=3000 for longer passes)
// Every timed function's result is checked before anything is timed. Each
// row shows the median wall clock, the median CPU time of the process and
// the fastest 5% of 100-call batches; the last leaves out most GC, so it
// flatters the rows that allocate.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import os from 'node:os';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const { jsCodec } = require('../dist/codec/index.js');
const { loadNativeCodec } = require('../dist/codec/native.js');
const { RecordWriter, findKey, keyAt, nameTag } = require('../dist/codec/record.js');
const { KIND_PATCH, KIND_RECORD } = require('../dist/codec/layout.js');
const { decodeValue, encodeValue } = require('../dist/codec/msgpack.js');

/** A signed-in shopper's session: 26 keys, about 2 KB as a v2 record and as JSON. */
export function session() {
  return {
    passport: { user: { id: 48213, email: 'ada.lovelace@example.com', name: 'Ada Lovelace', roles: ['user', 'editor', 'billing'] } },
    csrfSecret: 'fJ3kL9mQ2xV7bN4tR8wY1zC6pH0sD5gA',
    cookieConsent: { analytics: true, marketing: false, at: 1700000000000 },
    locale: 'en-GB',
    timezone: 'Europe/London',
    theme: 'dark',
    returnTo: '/account/settings/notifications?tab=email&ref=header',
    lastSeen: 1700000123456,
    loginAt: 1700000000000,
    mfaVerified: true,
    cart: {
      id: 'c_9f8e7d6c', currency: 'GBP', coupon: null, updatedAt: 1700000100000, items: [
        { sku: 'BK-1001', title: 'Notes on the Analytical Engine', qty: 1, price: 2499 },
        { sku: 'BK-2002', title: 'Sketch of the Analytical Engine', qty: 2, price: 1999 },
        { sku: 'PN-0042', title: 'Fountain pen, fine nib', qty: 1, price: 5400 },
      ],
    },
    recentlyViewed: ['BK-1001', 'BK-2002', 'PN-0042', 'BK-3003', 'MG-7777', 'BK-4004', 'PN-0043', 'BK-5005'],
    featureFlags: { newCheckout: true, betaSearch: false, darkModeV2: true, fastShipping: true },
    flash: [],
    searchHistory: ['analytical engine', 'difference engine', 'babbage', 'bernoulli numbers', 'jacquard loom'],
    preferences: { emailDigest: 'weekly', notifications: { orders: true, promos: false, security: true }, pageSize: 25 },
    abTests: { homepageHero: 'B', pricingTable: 'control', onboarding: 'v3' },
    oauthState: 'st_8c1f2a3b4d5e6f708192a3b4c5d6e7f8',
    device: { ua: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36', ip: '203.0.113.42' },
    views: 17,
    wishlist: [{ sku: 'BK-6006', addedAt: 1699990000000 }, { sku: 'BK-7007', addedAt: 1699991000000 }, { sku: 'PN-0044', addedAt: 1699992000000 }],
    support: { ticket: 'T-20231114-0042', status: 'open', subject: 'Bulk pricing for a reading group', lastReplyAt: 1700000050000 },
    onboardingStep: 4,
    addresses: [
      { kind: 'billing', line1: '12 St James Square', city: 'London', postcode: 'SW1Y 4JH', country: 'GB' },
      { kind: 'shipping', line1: 'Ockham Park', city: 'Ockham', postcode: 'GU23 6NL', country: 'GB' },
    ],
    breadcrumbs: ['/', '/books', '/books/computing', '/books/computing/history', '/books/BK-1001'],
    notes: 'Customer asked about bulk pricing on 2023-11-14; follow up via account manager. Prefers email contact over phone; do not call before 10:00 UK time.',
  };
}

const TAG = nameTag('connect.sid');
const CREATED = 1700000000000;
const EXPIRES = 1700086400000;

/** The session as the v2 RECORD a store holds. */
export function sessionRecord() {
  const w = new RecordWriter().begin(KIND_RECORD, 0, EXPIRES, CREATED, TAG);
  for (const [k, v] of Object.entries(session())) w.set(k, encodeValue(k, v));
  return w.finish();
}

/**
 * The request: read `views`, write `views + 1`, as the memory store would
 * apply the commit. Returns the record the store keeps next.
 */
export function oneKeyStep(codec, record, writer) {
  const view = codec.scan(record);
  const i = findKey(record, view, 'views');
  const at = view.index[4 * i + 2];
  const views = decodeValue(record, at, at + view.index[4 * i + 3]);
  const value = encodeValue('views', views + 1);
  const patch = writer.begin(KIND_PATCH, 0, EXPIRES + 1, CREATED, TAG).set('views', value).finish();
  return codec.apply(record, patch);
}

/** The same request on a JSON session (what connect-style stores do). */
export function jsonStep(json) {
  const s = JSON.parse(json);
  s.views += 1;
  return JSON.stringify(s);
}

/** Checks that both codecs give the same, right record for the step. */
export function checkStep(native, record) {
  const writer = new RecordWriter();
  const js = oneKeyStep(jsCodec, record, writer);
  const out = native === null ? js : oneKeyStep(native, record, writer);
  assert.deepEqual(out, js, 'native and JS give the same record');
  const v = jsCodec.scan(out);
  assert.equal(v.count, 26);
  assert.equal(keyAt(out, v, 25), 'views', 'the written key moved to the end');
  assert.equal(decodeValue(out, v.index[4 * 25 + 2], v.index[4 * 25 + 2] + v.index[4 * 25 + 3]), 18);
  assert.equal(v.expiresAt, EXPIRES + 1);
  const i = findKey(out, v, 'cart');
  assert.deepEqual(decodeValue(out, v.index[4 * i + 2], v.index[4 * i + 2] + v.index[4 * i + 3]), session().cart);
  assert.equal(JSON.parse(jsonStep(JSON.stringify(session()))).views, 18);
}

/**
 * ns per call of `fn`: the median wall clock and CPU time of this process
 * (which leaves out time other processes held the core; GC threads count)
 * over `passes` passes of `ms` each, and the 5th percentile of its 100-call
 * batches, which on a shared machine is the closest to what a quiet one
 * gives (a batch is ~0.1 ms: many run while nobody else does).
 */
function measure(fn, ms, passes) {
  const wall = [];
  const cpu = [];
  const batches = [];
  for (let i = 0; i < 2000; i++) fn();
  for (let p = 0; p < passes; p++) {
    let calls = 0;
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const until = t0 + BigInt(Math.round((ms / passes) * 1e6));
    let t = t0;
    do {
      const b0 = t;
      for (let i = 0; i < 100; i++) fn();
      calls += 100;
      t = process.hrtime.bigint();
      batches.push(Number(t - b0) / 100);
    } while (t < until);
    const c = process.cpuUsage(c0);
    wall.push(Number(t - t0) / calls);
    cpu.push(((c.user + c.system) * 1000) / calls);
  }
  const sorted = (xs) => xs.sort((a, b) => a - b);
  const median = (xs) => sorted(xs)[Math.floor(xs.length / 2)];
  return { wall: median(wall), cpu: median(cpu), p5: sorted(batches)[Math.floor(batches.length / 20)] };
}

async function main() {
  const native = loadNativeCodec();
  if (native === null) {
    console.error('bench:record needs the native addon (it did not load; see the warning above)');
    process.exit(1);
  }
  const TIME = Number(process.env.BENCH_TIME_MS ?? 600);
  const PASSES = Number(process.env.BENCH_PASSES ?? 5);
  const record = sessionRecord();
  const json = JSON.stringify(session());
  assert.ok(record.length >= 1900 && record.length <= 2300, `record is ${record.length} bytes`);
  checkStep(native, record);

  // The parts, checked the same way.
  const writer = new RecordWriter();
  const patch = writer.begin(KIND_PATCH, 0, EXPIRES + 1, CREATED, TAG).set('views', encodeValue('views', 18)).finish();
  const patch2 = writer.begin(KIND_PATCH, 0, EXPIRES + 2, CREATED, TAG).set('lastSeen', encodeValue('lastSeen', CREATED + 9)).finish();
  const plain = (v) => ({ ...v, index: [...v.index] });
  assert.deepEqual(plain(native.scan(record)), plain(jsCodec.scan(record)));
  assert.deepEqual(native.apply(record, patch), jsCodec.apply(record, patch));
  assert.deepEqual(native.merge(patch, patch2), jsCodec.merge(patch, patch2));
  assert.equal(jsCodec.scan(native.merge(patch, patch2)).count, 2);
  const view = native.scan(record);
  const vi = findKey(record, view, 'views');
  assert.equal(vi, Object.keys(session()).indexOf('views'));
  const vAt = view.index[4 * vi + 2];
  const vEnd = vAt + view.index[4 * vi + 3];
  assert.equal(decodeValue(record, vAt, vEnd), 17);
  const v18 = Buffer.from(encodeValue('views', 18));
  assert.deepEqual(writer.begin(KIND_PATCH, 0, EXPIRES + 1, CREATED, TAG).set('views', v18).finish(), patch);

  let sink;
  const rows = [
    ['one-key read + write, 2 KB session', [
      ['native codec', () => { sink = oneKeyStep(native, record, writer); }],
      ['JS codec', () => { sink = oneKeyStep(jsCodec, record, writer); }],
      ['JSON.parse + stringify', () => { sink = jsonStep(json); }],
    ]],
    ['scan 2 KB record (26 keys)', [
      ['native', () => { sink = native.scan(record); }],
      ['JS', () => { sink = jsCodec.scan(record); }],
    ]],
    ['findKey (JS, ASCII key)', [['JS', () => { sink = findKey(record, view, 'views'); }]]],
    ['decodeValue + encodeValue', [['msgpackr', () => { sink = encodeValue('views', decodeValue(record, vAt, vEnd) + 1); }]]],
    ['RecordWriter: 1-key patch', [['JS', () => { sink = writer.begin(KIND_PATCH, 0, EXPIRES, CREATED, TAG).set('views', v18).finish(); }]]],
    ['apply 1-key patch to 2 KB', [
      ['native', () => { sink = native.apply(record, patch); }],
      ['JS', () => { sink = jsCodec.apply(record, patch); }],
    ]],
    ['merge two 1-key patches', [
      ['native', () => { sink = native.merge(patch, patch2); }],
      ['JS', () => { sink = jsCodec.merge(patch, patch2); }],
    ]],
    // Why the index is a view of a slab and apply's result is allocated in JS.
    ['index for 26 keys', [
      ['new Uint32Array(104)', () => { sink = new Uint32Array(104); }],
      ['view of a slab', () => { sink = view.index.subarray(0, 104); }],
    ]],
    ['2 KB result buffer', [
      ['allocUnsafeSlow (own)', () => { sink = Buffer.allocUnsafeSlow(record.length); }],
      ['allocUnsafe (pooled)', () => { sink = Buffer.allocUnsafe(record.length); }],
    ]],
  ];
  const results = rows.map(([what, tasks]) => [what, tasks.map(([name, fn]) => [name, measure(fn, TIME, PASSES)])]);
  void sink;

  console.log(`Node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'} (${os.cpus().length} cpus), ${os.platform()}-${os.arch()}`);
  console.log(`native codec: on; record ${record.length} B, JSON ${json.length} B; median of ${PASSES} passes of ${Math.round(TIME / PASSES)} ms per task; load average ${os.loadavg()[0].toFixed(2)}\n`);
  console.log('ns per op: median wall clock / median CPU time of this process / fastest 5% of 100-call batches\n');
  console.log('| benchmark | first | second | third |');
  console.log('|---|---|---|---|');
  const fmt = ([name, t]) => `${name}: ${t.wall.toFixed(0)} / ${t.cpu.toFixed(0)} / ${t.p5.toFixed(0)}`;
  for (const [what, tasks] of results) console.log(`| ${what} | ${tasks.map(fmt).join(' | ')} |${' |'.repeat(3 - tasks.length)}`);
  const [n, j, s] = results[0][1].map((t) => t[1]);
  // A shared machine's wall clock counts the time others held the core, so
  // the target is judged on the median CPU time, with the quiet-machine
  // estimate (fastest batches) beside it.
  console.log(`\none-key step, native: ${n.wall.toFixed(0)} ns wall, ${n.cpu.toFixed(0)} ns CPU, ${n.p5.toFixed(0)} ns in the fastest batches ` +
    `(target <= 1000 ns CPU: ${n.cpu <= 1000 ? 'yes' : 'NO'}); JS codec ${(j.cpu / n.cpu).toFixed(1)}x, ` +
    `JSON.parse + stringify ${(s.cpu / n.cpu).toFixed(1)}x the native CPU time`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
