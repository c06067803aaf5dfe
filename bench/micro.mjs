// Micro benchmarks of the codec: native addon vs the JS paths it replaces.
// Run with `npm run bench:micro` (builds dist/ first). Every pair asserts
// that both sides give the same answer before anything is timed.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import { checkStep, jsonStep, oneKeyStep, session, sessionRecord } from './record-codec.mjs';

const require = createRequire(import.meta.url);
const { jsCodec, deriveKey } = require('../dist/codec/index.js');
const { loadNativeCodec } = require('../dist/codec/native.js');
const cookie = require('cookie');
const signature = require('cookie-signature');

const native = loadNativeCodec();
if (native === null) {
  console.error('bench:micro needs the native addon (it did not load; see the warning above)');
  process.exit(1);
}

// tinybench times each call with performance.now(), which costs about as much
// as a native call; running a batch per call keeps the clock out of the ratio.
const BATCH = 200;
const TIME = Number(process.env.BENCH_TIME_MS ?? 1000);

const secret = 'keyboard cat, but long enough to be a real secret';
const id = 'Xk3pQ9vB2mN7sT1wE5rY8uI0oP4aS6dF'; // 32 chars, like express-session's uid-safe ids
const signed = signature.sign(id, secret);
const sidCookie = 's%3A' + encodeURIComponent(signed); // how express-session serializes it
// About 400 bytes and five cookies, the session one fourth, as a browser sends them.
const header = [
  '_ga=GA1.2.1234567890.1700000000',
  'theme=dark',
  'prefs=%7B%22lang%22%3A%22en%22%2C%22tz%22%3A%22Europe%2FBerlin%22%2C%22compact%22%3Atrue%7D',
  `connect.sid=${sidCookie}`,
  '_gid=GA1.2.987654321.1700000000; csrf_token=4f7c2a9e1b3d5f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b8d0f2a4c6e8b0d2f4a6c8e0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b8',
].join('; ');
assert.ok(header.length >= 350 && header.length <= 450, `header is ${header.length} bytes`);

const nSigner = native.createSigner([secret]);
const jSigner = jsCodec.createSigner([secret]);

function cookieSignatureExtract(h) {
  const raw = cookie.parse(h)['connect.sid'];
  if (typeof raw !== 'string' || !raw.startsWith('s:')) return null;
  const v = signature.unsign(raw.slice(2), secret);
  return v === false ? null : v;
}

const key = deriveKey('bench secret');
const nSealer = native.createSealer([key]);
const jSealer = jsCodec.createSealer([key]);
const payload = Buffer.alloc(300, 7);
const aad = Buffer.from('hs');
const body = Buffer.alloc(200, 3);
const exp = Date.now() + 86_400_000;

// Correctness first: every timed function's result, checked once.
assert.equal(nSigner.unsign(signed), id);
assert.equal(signature.unsign(signed, secret), id);
assert.equal(nSigner.extract(header, 'connect.sid'), id);
assert.equal(cookieSignatureExtract(header), id);
assert.equal(jSigner.extract(header, 'connect.sid'), id);
assert.deepEqual(nSealer.open(nSealer.seal(payload, exp, aad), aad)?.plaintext, payload);
assert.deepEqual(jSealer.open(jSealer.seal(payload, exp, aad), aad)?.plaintext, payload);
assert.deepEqual(jSealer.open(nSealer.seal(payload, exp, aad), aad)?.plaintext, payload);
// The native codec frames in C++ but unframes in JS; the addon's own
// unframe is timed straight from the addon to show why.
const addon = require('node-gyp-build')(fileURLToPath(new URL('..', import.meta.url)));
const times = new Float64Array(2);
function addonUnframe(buf) {
  if (!addon.unframe(buf, times)) return null;
  return { body: buf.subarray(24), expiresAt: times[0], createdAt: times[1] };
}
const framed = native.frame(body, exp, 1);
assert.deepEqual(framed, jsCodec.frame(body, exp, 1));
assert.deepEqual(addonUnframe(framed), jsCodec.unframe(framed));
assert.deepEqual(addonUnframe(native.frame(body, exp, 1))?.body, body);
assert.deepEqual(jsCodec.unframe(jsCodec.frame(body, exp, 1))?.body, body);

// The per-key record (v2): a request that reads one key of a 2 KB session
// and writes one back, as a memory store serves it (bench/record-codec.mjs
// has the parts).
const { RecordWriter } = require('../dist/codec/record.js');
const record = sessionRecord();
const sessionJson = JSON.stringify(session());
const recordWriter = new RecordWriter();
checkStep(native, record);

function loop(fn) {
  return () => {
    for (let i = 0; i < BATCH; i++) fn();
  };
}

let sink;
const pairs = [
  {
    what: 'unsign (32-char id)', target: 8,
    native: ['native unsign', loop(() => { sink = nSigner.unsign(signed); })],
    base: ['cookie-signature unsign', loop(() => { sink = signature.unsign(signed, secret); })],
  },
  {
    what: 'extract from 5-cookie header', target: 8,
    native: ['native extract', loop(() => { sink = nSigner.extract(header, 'connect.sid'); })],
    base: ['cookie.parse + cookie-signature', loop(() => { sink = cookieSignatureExtract(header); })],
  },
  {
    what: 'AEAD seal+open 300 B', target: 3,
    native: ['native seal+open', loop(() => { sink = nSealer.open(nSealer.seal(payload, exp, aad), aad); })],
    base: ['node:crypto seal+open (JS codec)', loop(() => { sink = jSealer.open(jSealer.seal(payload, exp, aad), aad); })],
  },
  {
    what: 'frame+unframe 200 B', target: null,
    native: ['addon frame+unframe', loop(() => { sink = addonUnframe(native.frame(body, exp, 1)); })],
    base: ['JS frame+unframe', loop(() => { sink = jsCodec.unframe(jsCodec.frame(body, exp, 1)); })],
  },
  {
    what: 'frame 200 B', target: null,
    native: ['addon frame', loop(() => { sink = native.frame(body, exp, 1); })],
    base: ['JS frame', loop(() => { sink = jsCodec.frame(body, exp, 1); })],
  },
  {
    what: 'unframe 200 B', target: null,
    native: ['addon unframe', loop(() => { sink = addonUnframe(framed); })],
    base: ['JS unframe (the codec uses this)', loop(() => { sink = jsCodec.unframe(framed); })],
  },
  {
    what: 'v2 one-key read+write, 2 KB', target: null,
    native: ['native codec', loop(() => { sink = oneKeyStep(native, record, recordWriter); })],
    base: ['JS codec', loop(() => { sink = oneKeyStep(jsCodec, record, recordWriter); })],
  },
  {
    what: 'v2 one-key read+write vs JSON, 2 KB', target: 3,
    native: ['native codec', loop(() => { sink = oneKeyStep(native, record, recordWriter); })],
    base: ['JSON.parse + JSON.stringify', loop(() => { sink = jsonStep(sessionJson); })],
  },
  {
    what: 'extract (JS codec, for reference)', target: null,
    native: ['native extract', loop(() => { sink = nSigner.extract(header, 'connect.sid'); })],
    base: ['JS codec extract', loop(() => { sink = jSigner.extract(header, 'connect.sid'); })],
  },
];

// Several short passes, median per task: on a shared machine a burst of
// someone else's load then skews one pass, not the ratio.
const PASSES = Number(process.env.BENCH_PASSES ?? 3);
const samples = new Map();
for (let pass = 0; pass < PASSES; pass++) {
  const bench = new Bench({ time: TIME / PASSES, warmupTime: 100 });
  for (const p of pairs) {
    bench.add(`${p.what} | ${p.native[0]}`, p.native[1]);
    bench.add(`${p.what} | ${p.base[0]}`, p.base[1]);
  }
  await bench.run();
  for (const t of bench.tasks) {
    const ops = (t.result.throughput?.mean ?? t.result.hz) * BATCH;
    samples.set(t.name, [...(samples.get(t.name) ?? []), ops]);
  }
}
void sink;

const opsOf = (name) => {
  const xs = [...samples.get(name)].sort((a, b) => a - b);
  return xs[Math.floor(xs.length / 2)];
};
const fmt = (n) => Math.round(n).toLocaleString('en-US');

console.log(`Node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'} (${os.cpus().length} cpus), ${os.platform()}-${os.arch()}`);
console.log(`native codec: ${native.native ? 'on' : 'off'}; ${BATCH} ops per sample, ${PASSES} passes of ${Math.round(TIME / PASSES)} ms per task, median shown; load average ${os.loadavg()[0].toFixed(2)}\n`);
const rows = [];
let missed = 0;
for (const p of pairs) {
  const n = opsOf(`${p.what} | ${p.native[0]}`);
  const b = opsOf(`${p.what} | ${p.base[0]}`);
  const ratio = n / b;
  const ok = p.target === null ? '' : ratio >= p.target ? 'yes' : 'NO';
  if (ok === 'NO') missed++;
  rows.push(`| ${p.what} | ${p.native[0]} | ${fmt(n)} | ${p.base[0]} | ${fmt(b)} | ${ratio.toFixed(2)}x | ${p.target === null ? '-' : `>= ${p.target}x ${ok}`} |`);
}
console.log('| benchmark | native | ops/s | baseline | ops/s | ratio | target |');
console.log('|---|---|---:|---|---:|---:|---|');
for (const r of rows) console.log(r);
if (missed > 0) console.log(`\n${missed} target(s) missed`);
