// MongoStore's FerretDB write path (src/stores/mongo/chunks.ts): ops that
// arrive while a chunk holds the lane join the next chunk, and ops whose
// batch timed out while waiting are not sent. `send` here is a plain async
// function standing for one command, so the schedule is seen exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';

const require = createRequire(import.meta.url);
const { Chunks } = require('../../dist/stores/mongo/chunks.js');
const { Lanes } = require('../../dist/stores/mongo/lanes.js');

const op = (id) => ({ kind: 'touch', id, bytes: null, ttlMs: 1000 });
const turn = () => new Promise((resolve) => setImmediate(resolve));

/** A `send` that records each chunk's ids and answers `done:<id>` per op once `gate` resolves. */
function recorder() {
  const sent = [];
  let open;
  const gate = { wait: new Promise((r) => (open = r)) };
  const send = async (ops) => {
    sent.push(ops.map((o) => o.id));
    await gate.wait;
    return ops.map((o) => `done:${o.id}`);
  };
  return { sent, send, release: () => open() };
}

test('batches handed in while a chunk holds the lane go out together as the next chunk', async () => {
  const r = recorder();
  const chunks = new Chunks(32, new Lanes(1, 60_000), 60_000, r.send);
  const answers = [];
  for (let i = 0; i < 10; i++) {
    answers.push(chunks.run([op(`s${i}`)]));
    await turn(); // one batch per event-loop turn, as the write batcher makes them
  }
  r.release();
  const results = await Promise.all(answers);
  // Before: one chunk per batch (10 commands, each several round trips under 'lock').
  assert.deepEqual(r.sent, [['s0'], ['s1', 's2', 's3', 's4', 's5', 's6', 's7', 's8', 's9']]);
  assert.deepEqual(results, Array.from({ length: 10 }, (_, i) => [`done:s${i}`]));
});

test('a waiting chunk fills up to its size; a batch larger than what is left spans chunks and gets its results in order', async () => {
  const r = recorder();
  const chunks = new Chunks(4, new Lanes(1, 60_000), 60_000, r.send);
  const first = chunks.run([op('a')]);
  await turn();
  const second = chunks.run(['b', 'c', 'd'].map(op));
  const third = chunks.run(['e', 'f', 'g'].map(op));
  r.release();
  assert.deepEqual(await first, ['done:a']);
  assert.deepEqual(await second, ['done:b', 'done:c', 'done:d']);
  assert.deepEqual(await third, ['done:e', 'done:f', 'done:g']);
  assert.deepEqual(r.sent, [['a'], ['b', 'c', 'd', 'e'], ['f', 'g']]);
});

test('ops whose batch timed out while waiting for the lane are not sent, and answer STORE_TIMEOUT', async () => {
  const r = recorder();
  const chunks = new Chunks(32, new Lanes(1, 60_000), 50, r.send);
  const busy = chunks.run([op('busy')]);
  await turn();
  const late = chunks.run([op('late')]);
  await sleep(80); // past the 50 ms timeout while 'busy' still holds the lane
  const fresh = chunks.run([op('fresh')]);
  r.release();
  assert.deepEqual(await busy, ['done:busy']);
  const [lateResult] = await late;
  assert.ok(lateResult instanceof Error && lateResult.code === 'HOTSESSION_ERR_STORE_TIMEOUT', String(lateResult));
  assert.deepEqual(await fresh, ['done:fresh']);
  assert.deepEqual(r.sent, [['busy'], ['fresh']]);
});

test('of two ops of one id in a chunk only the later is sent (the batcher let it go because the first timed out)', async () => {
  const r = recorder();
  // A long timeout: the first op of 'x' is still within its own deadline here.
  const chunks = new Chunks(32, new Lanes(1, 60_000), 60_000, r.send);
  const busy = chunks.run([op('busy')]);
  await turn();
  const older = chunks.run([op('x'), op('y')]);
  const newer = chunks.run([op('x')]);
  r.release();
  await busy;
  const [x1, y] = await older;
  assert.equal(x1.code, 'HOTSESSION_ERR_STORE_TIMEOUT');
  assert.equal(y, 'done:y');
  assert.deepEqual(await newer, ['done:x']);
  assert.deepEqual(r.sent, [['busy'], ['y', 'x']]);
});

test('a chunk that fails whole rejects every batch it carried, and the lane moves on', async () => {
  let calls = 0;
  let open;
  const gate = new Promise((r) => (open = r));
  const send = async (ops) => {
    calls++;
    if (calls === 1) {
      await gate;
      return ops.map(() => 'ok');
    }
    if (calls === 2) throw new Error('server went away');
    return ops.map(() => 'ok');
  };
  const chunks = new Chunks(32, new Lanes(1, 60_000), 60_000, send);
  const first = chunks.run([op('a')]);
  await turn();
  const b = chunks.run([op('b')]);
  const c = chunks.run([op('c')]);
  open();
  assert.deepEqual(await first, ['ok']);
  await assert.rejects(b, /server went away/);
  await assert.rejects(c, /server went away/);
  assert.deepEqual(await chunks.run([op('d')]), ['ok']);
});
