import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';

/** Resolves once `cond()` holds, polling every millisecond (fails the test after 5 s). */
async function until(cond) {
  for (const end = Date.now() + 5000; !cond(); await sleep(1)) {
    if (Date.now() > end) throw new Error('condition not met within 5 s');
  }
}

const require = createRequire(import.meta.url);
const { WriteBatcher, ReadBatcher } = require('../../dist/stores/batcher.js');
const { RecordWriter, scanRecord, keyAt } = require('../../dist/codec/record.js');
const L = require('../../dist/codec/layout.js');
const { pack, unpack } = require('msgpackr');

// Ops in the old test style: enqueue(kind, id, bytes, ttl).
function enqueue(b, kind, id, bytes, ttl) {
  if (kind === 'set') return b.set(id, bytes, ttl);
  if (kind === 'touch') return b.touch(id, ttl);
  if (kind === 'destroy') return b.destroy(id);
  if (kind === 'patch') return b.patch(id, bytes, ttl);
  return b.forward(id, bytes, ttl);
}
const w = new RecordWriter();
function rec(obj) {
  w.begin(L.KIND_RECORD, 0, 0, 1, 7);
  for (const [k, v] of Object.entries(obj)) w.set(k, pack(v));
  return w.finish();
}
function patch(sets, dels = []) {
  w.begin(L.KIND_PATCH, 0, 0, 1, 7);
  for (const [k, v] of Object.entries(sets)) w.set(k, pack(v));
  for (const k of dels) w.delete(k);
  return w.finish();
}
function contents(buf) {
  const v = scanRecord(buf);
  const out = {};
  for (let i = 0; i < v.count; i++) {
    const at = v.index[4 * i + 2];
    out[keyAt(buf, v, i)] = v.index[4 * i + 3] === L.DELETE ? 'DEL' : unpack(buf.subarray(at, at + v.index[4 * i + 3]));
  }
  return out;
}

test('writes of one turn go out as one batch; later writes per id fold in; destroy wins', async () => {
  const batches = [];
  const b = new WriteBatcher(async (ops) => { batches.push(ops.map((o) => `${o.kind}:${o.id}:${o.bytes ?? ''}:${o.ttlMs}`)); });
  const all = [
    enqueue(b, 'set', 'a', 'r1', 10),
    enqueue(b, 'set', 'a', 'r2', 20),
    enqueue(b, 'set', 'b', 'r3', 10),
    enqueue(b, 'destroy', 'b', null, 0),
    enqueue(b, 'set', 'b', 'r4', 10),
    enqueue(b, 'touch', 'a', null, 99),
    enqueue(b, 'touch', 'c', null, 5),
  ];
  await Promise.all(all);
  assert.deepEqual(batches, [['set:a:r2:99', 'destroy:b::0', 'touch:c::5']]);
});

test('a batch flushes at its size cap', async () => {
  const sizes = [];
  const b = new WriteBatcher(async (ops) => { sizes.push(ops.length); }, { maxBatch: 3 });
  await Promise.all(Array.from({ length: 7 }, (_, i) => enqueue(b, 'set', `k${i}`, 'x', 1)));
  assert.deepEqual(sizes, [3, 3, 1]);
});

test('a failed batch rejects exactly the writes it carried; per-op errors reject only that op', async () => {
  let n = 0;
  const b = new WriteBatcher(async (ops) => {
    n++;
    if (n === 1) throw new Error('connection lost');
    return ops.map((o) => (o.id === 'bad' ? new Error('OOM') : 'OK'));
  });
  const first = [enqueue(b, 'set', 'x', 'r', 1), enqueue(b, 'set', 'y', 'r', 1)];
  const r1 = await Promise.allSettled(first);
  assert.deepEqual(r1.map((r) => r.status), ['rejected', 'rejected']);
  assert.equal(r1[0].reason.code, 'HOTSESSION_ERR_STORE');
  assert.equal(r1[0].reason.cause.message, 'connection lost');
  const r2 = await Promise.allSettled([enqueue(b, 'set', 'good', 'r', 1), enqueue(b, 'set', 'bad', 'r', 1)]);
  assert.deepEqual(r2.map((r) => r.status), ['fulfilled', 'rejected']);
});

test('timeouts and the bounded queue give coded errors, not hangs or growth', async () => {
  const b = new WriteBatcher(() => new Promise(() => {}), { timeout: 50, maxPending: 2 });
  const p1 = enqueue(b, 'set', 'a', 'r', 1);
  const p2 = enqueue(b, 'set', 'b', 'r', 1);
  await assert.rejects(enqueue(b, 'set', 'c', 'r', 1), { code: 'HOTSESSION_ERR_QUEUE_FULL' });
  await assert.rejects(p1, { code: 'HOTSESSION_ERR_STORE_TIMEOUT' });
  await assert.rejects(p2, { code: 'HOTSESSION_ERR_STORE_TIMEOUT' });
  assert.equal(b.pending, 0);
});

test('batch: false sends each write alone', async () => {
  const sizes = [];
  const b = new WriteBatcher(async (ops) => { sizes.push(ops.length); }, { batch: false });
  await Promise.all([enqueue(b, 'set', 'a', 'r', 1), enqueue(b, 'set', 'a', 'r', 1), enqueue(b, 'set', 'b', 'r', 1)]);
  assert.deepEqual(sizes, [1, 1, 1]);
});

test('close waits for writes in flight and refuses new ones', async () => {
  const b = new WriteBatcher(async () => { await sleep(20); });
  const p = enqueue(b, 'set', 'a', 'r', 1);
  await b.close();
  await p;
  await assert.rejects(enqueue(b, 'set', 'a', 'r', 1), { code: 'HOTSESSION_ERR_STORE_CLOSED' });
});

test('reads of one id in flight share one fetch; reads of a turn go as one batch', async () => {
  const calls = [];
  const r = new ReadBatcher(async (ids) => { calls.push(ids); await sleep(10); return ids.map((id) => (id === 'none' ? null : `v:${id}`)); });
  const [a1, a2, b1, n] = await Promise.all([r.get('a'), r.get('a'), r.get('b'), r.get('none')]);
  assert.deepEqual([a1, a2, b1, n], ['v:a', 'v:a', 'v:b', null]);
  assert.deepEqual(calls, [['a', 'b', 'none']]);
  await r.get('a');
  assert.equal(calls.length, 2, 'a settled read is not cached');
});

test('a failed read rejects its callers; per-id errors reject only that id', async () => {
  const r = new ReadBatcher(async (ids) => ids.map((id) => (id === 'bad' ? new Error('WRONGTYPE') : 'ok')));
  const res = await Promise.allSettled([r.get('good'), r.get('bad')]);
  assert.deepEqual(res.map((x) => x.status), ['fulfilled', 'rejected']);
  const r2 = new ReadBatcher(async () => { throw new Error('down'); });
  await assert.rejects(r2.get('x'), { code: 'HOTSESSION_ERR_STORE' });
});

test('patches to one id merge while queued; each caller gets the outcome', async () => {
  const sent = [];
  const b = new WriteBatcher(async (ops) => { sent.push(ops); return ops.map((o) => (o.kind === 'patch' ? 'ok' : undefined)); });
  const r = await Promise.all([
    b.patch('s', patch({ a: 1 }), 10),
    b.patch('s', patch({ b: 2 }), 20),
    b.patch('s', patch({}, ['a']), 30),
    b.touch('s', 40),
  ]);
  assert.deepEqual(r, ['ok', 'ok', 'ok', undefined]);
  assert.equal(sent.length, 1);
  assert.equal(sent[0].length, 1);
  assert.equal(sent[0][0].kind, 'patch');
  assert.equal(sent[0][0].ttlMs, 40);
  assert.deepEqual(contents(sent[0][0].bytes), { b: 2, a: 'DEL' });
});

test('a patch queued behind a set is applied to the record; behind a v1 record it is stale', async () => {
  const sent = [];
  const b = new WriteBatcher(async (ops) => { sent.push(...ops); });
  const [s, p] = await Promise.all([b.set('x', rec({ a: 1, b: 2 }), 5), b.patch('x', patch({ a: 9 }), 6)]);
  assert.equal(s, undefined);
  assert.equal(p, 'ok');
  assert.equal(sent.length, 1);
  assert.equal(sent[0].kind, 'set');
  assert.deepEqual(contents(sent[0].bytes), { b: 2, a: 9 });
  const v1 = Buffer.from([0x68, 1, 0, 0, ...new Array(20).fill(0), 0x80]);
  const [, stale] = await Promise.all([b.set('y', v1, 5), b.patch('y', patch({ a: 1 }), 5)]);
  assert.equal(stale, 'stale');
});

test('a patch racing a destroy is gone; a forward never merges', async () => {
  const sent = [];
  const b = new WriteBatcher(async (ops) => { sent.push(ops.map((o) => `${o.kind}:${o.id}`)); return ops.map((o) => (o.kind === 'forward' ? 'held-record' : 'ok')); });
  const r = await Promise.all([b.destroy('d'), b.patch('d', patch({ a: 1 }), 5), b.forward('d', Buffer.from('m'), 5)]);
  assert.deepEqual(r, [undefined, 'gone', null]);
  assert.deepEqual(sent, [['destroy:d']]);
  sent.length = 0;
  const r2 = await Promise.all([b.patch('f', patch({ a: 1 }), 5), b.forward('f', Buffer.from('m'), 5), b.patch('f', patch({ b: 1 }), 5)]);
  assert.deepEqual(r2, ['ok', 'held-record', 'ok']);
  assert.deepEqual(sent, [['patch:f'], ['forward:f'], ['patch:f']], 'each waits for the one before it');
});

test('one op per id in flight: later writes wait and fold, order is kept', async () => {
  const log = [];
  let release;
  const gate = new Promise((r) => { release = r; });
  const b = new WriteBatcher(async (ops) => {
    log.push(ops.map((o) => `${o.kind}:${o.id}:${o.ttlMs}`).join(','));
    if (log.length === 1) await gate;
  });
  const first = b.set('k', rec({ a: 1 }), 1);
  // Conditions, not sleeps: on a loaded machine 5 ms was sometimes not enough for a batch to leave.
  await until(() => log.length === 1); // the first batch is in flight
  const later = [b.touch('k', 2), b.set('k', rec({ a: 2 }), 3), b.set('other', rec({}), 4)];
  await until(() => log.length >= 2);
  await sleep(5); // room for a wrongly sent write of k to show up
  assert.deepEqual(log, ['set:k:1', 'set:other:4'], 'k waits for its write in flight; other ids do not');
  release();
  await Promise.all([first, ...later]);
  assert.deepEqual(log, ['set:k:1', 'set:other:4', 'set:k:3']);
});
