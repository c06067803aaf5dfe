import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';

const require = createRequire(import.meta.url);
const { WriteBatcher, ReadBatcher } = require('../../dist/stores/batcher.js');

test('writes of one turn go out as one batch; last write per id wins; destroy wins', async () => {
  const batches = [];
  const b = new WriteBatcher(async (ops) => { batches.push(ops.map((o) => `${o.kind}:${o.id}:${o.record ?? ''}:${o.ttlMs}`)); });
  const all = [
    b.enqueue('set', 'a', 'r1', 10),
    b.enqueue('set', 'a', 'r2', 20),
    b.enqueue('set', 'b', 'r3', 10),
    b.enqueue('destroy', 'b', null, 0),
    b.enqueue('set', 'b', 'r4', 10),
    b.enqueue('touch', 'a', null, 99),
    b.enqueue('touch', 'c', null, 5),
  ];
  await Promise.all(all);
  assert.deepEqual(batches, [['set:a:r2:99', 'destroy:b::0', 'touch:c::5']]);
});

test('a batch flushes at its size cap', async () => {
  const sizes = [];
  const b = new WriteBatcher(async (ops) => { sizes.push(ops.length); }, { maxBatch: 3 });
  await Promise.all(Array.from({ length: 7 }, (_, i) => b.enqueue('set', `k${i}`, 'x', 1)));
  assert.deepEqual(sizes, [3, 3, 1]);
});

test('a failed batch rejects exactly the writes it carried; per-op errors reject only that op', async () => {
  let n = 0;
  const b = new WriteBatcher(async (ops) => {
    n++;
    if (n === 1) throw new Error('connection lost');
    return ops.map((o) => (o.id === 'bad' ? new Error('OOM') : 'OK'));
  });
  const first = [b.enqueue('set', 'x', 'r', 1), b.enqueue('set', 'y', 'r', 1)];
  const r1 = await Promise.allSettled(first);
  assert.deepEqual(r1.map((r) => r.status), ['rejected', 'rejected']);
  assert.equal(r1[0].reason.code, 'HOTSESSION_ERR_STORE');
  assert.equal(r1[0].reason.cause.message, 'connection lost');
  const r2 = await Promise.allSettled([b.enqueue('set', 'good', 'r', 1), b.enqueue('set', 'bad', 'r', 1)]);
  assert.deepEqual(r2.map((r) => r.status), ['fulfilled', 'rejected']);
});

test('timeouts and the bounded queue give coded errors, not hangs or growth', async () => {
  const b = new WriteBatcher(() => new Promise(() => {}), { timeout: 50, maxPending: 2 });
  const p1 = b.enqueue('set', 'a', 'r', 1);
  const p2 = b.enqueue('set', 'b', 'r', 1);
  await assert.rejects(b.enqueue('set', 'c', 'r', 1), { code: 'HOTSESSION_ERR_QUEUE_FULL' });
  await assert.rejects(p1, { code: 'HOTSESSION_ERR_STORE_TIMEOUT' });
  await assert.rejects(p2, { code: 'HOTSESSION_ERR_STORE_TIMEOUT' });
  assert.equal(b.pending, 0);
});

test('batch: false sends each write alone', async () => {
  const sizes = [];
  const b = new WriteBatcher(async (ops) => { sizes.push(ops.length); }, { batch: false });
  await Promise.all([b.enqueue('set', 'a', 'r', 1), b.enqueue('set', 'a', 'r', 1), b.enqueue('set', 'b', 'r', 1)]);
  assert.deepEqual(sizes, [1, 1, 1]);
});

test('close waits for writes in flight and refuses new ones', async () => {
  const b = new WriteBatcher(async () => { await sleep(20); });
  const p = b.enqueue('set', 'a', 'r', 1);
  await b.close();
  await p;
  await assert.rejects(b.enqueue('set', 'a', 'r', 1), { code: 'HOTSESSION_ERR_STORE_CLOSED' });
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
