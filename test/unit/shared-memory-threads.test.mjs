// SharedMemoryStore across worker threads: one table seen by every thread,
// concurrent patches that all land, records never torn under eviction, and
// threads terminated in the middle of their work. (uWS apps in threads:
// test/integration/shared-memory-uws.test.mjs.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { setTimeout as sleep } from 'node:timers/promises';
import { SharedMemoryStore } from 'hotsession';
import { checkValue, decode, kindOf, L, patch, rec, valueFor } from './shared-memory-fixtures.mjs';

const workerFile = new URL('./shared-memory-worker.mjs', import.meta.url);
let n = 0;
const tableName = () => `threads-${process.pid}-${++n}`;

function run(data) {
  const w = new Worker(workerFile, { workerData: data });
  const result = new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
    w.once('exit', (code) => reject(new Error(`worker ${data.t} exited (${code}) without reporting`)));
  });
  return { worker: w, result };
}

function checkBounds(store) {
  const s = store.stats();
  assert.ok(s.entries <= s.capacity, `${s.entries} entries > capacity ${s.capacity}`);
  assert.ok(s.bytes <= s.maxBytes, `${s.bytes} bytes > maxBytes ${s.maxBytes}`);
  return s;
}

test('a table created in the main thread is the same table in every worker', async () => {
  const name = tableName();
  const store = new SharedMemoryStore({ name, maxBytes: 2 ** 20 });
  store.set('from-main', rec({ who: 'main' }), 60_000);
  const code = `
    const { workerData, parentPort } = require('node:worker_threads');
    const { SharedMemoryStore } = require(${JSON.stringify(new URL('../../dist/index.js', import.meta.url).pathname)});
    const s = new SharedMemoryStore({ name: workerData });
    const got = s.get('from-main');
    s.set('from-worker', Buffer.from('written by a worker'), 60000);
    parentPort.postMessage(got && Buffer.from(got).toString('hex'));`;
  const got = await new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: name });
    w.once('message', resolve);
    w.once('error', reject);
  });
  assert.equal(got, rec({ who: 'main' }).toString('hex'));
  assert.equal(Buffer.from(store.get('from-worker')).toString(), 'written by a worker');
});

test('a worker cannot create a table of its own, and learns why', async () => {
  const code = `
    const { parentPort } = require('node:worker_threads');
    const { SharedMemoryStore } = require(${JSON.stringify(new URL('../../dist/index.js', import.meta.url).pathname)});
    try { new SharedMemoryStore({ name: 'never-created-in-main' }); parentPort.postMessage('constructed'); }
    catch (err) { parentPort.postMessage(err.code + ' ' + err.message); }`;
  const msg = await new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true });
    w.once('message', resolve);
    w.once('error', reject);
  });
  assert.match(msg, /^HOTSESSION_ERR_OPTIONS .*main thread/);
});

test('4 threads x 100,000 mixed operations on overlapping ids: every acknowledged patch lands, nothing is torn', async () => {
  const name = tableName();
  const store = new SharedMemoryStore({ name, maxBytes: 16 * 2 ** 20 });
  const sharedIds = Array.from({ length: 64 }, (_, i) => `shared-${i}`);
  for (const [i, id] of sharedIds.entries()) store.set(id, rec({ seed: i }), 3_600_000);
  const runs = [0, 1, 2, 3].map((t) => run({ name, t, ops: 100_000, mode: 'patch', sharedIds, seed: 1000 + t }));
  const results = await Promise.all(runs.map((r) => r.result));
  for (const r of results) assert.deepEqual(r.errors, []);
  // Each thread wrote only its own key: after everyone stopped, every id holds
  // exactly the last value each thread was told 'ok' for.
  let checked = 0;
  for (const id of sharedIds) {
    const data = decode(store.get(id));
    for (const [t, r] of results.entries()) {
      if (r.lastOk[id] === undefined) continue;
      assert.equal(data[`t${t}`], valueFor(r.lastOk[id]), `${id}, thread ${t}`);
      checked++;
    }
  }
  assert.equal(checked, 4 * 64, 'every thread patched every shared id');
  const s = checkBounds(store);
  assert.ok(s.reclaims > 10, `the segments were recycled under the threads (${s.reclaims} reclaims)`);
  assert.ok(s.conflicts > 0, 'threads did race on the same sessions');
});

test('4 threads x 100,000 operations on a small table under eviction: every record read is whole and is its own id', async () => {
  const name = tableName();
  const store = new SharedMemoryStore({ name, maxBytes: 2 ** 20, maxEntries: 1024 });
  const runs = [0, 1, 2, 3].map((t) => run({ name, t, ops: 100_000, mode: 'churn', sharedIds: [], seed: 2000 + t }));
  const results = await Promise.all(runs.map((r) => r.result));
  for (const r of results) assert.deepEqual(r.errors, []);
  const s = checkBounds(store);
  assert.ok(s.evicted > 1000 && s.reclaims > 50, `the table was under pressure: ${JSON.stringify(s)}`);
  let live = 0;
  let found = 0;
  for (let i = 0; i < 1500; i++) {
    const got = store.get(`c${i}`);
    if (got === null) continue;
    found++;
    if (kindOf(got) === L.KIND_FORWARD) continue;
    assert.equal(decode(got).id, `c${i}`);
    live++;
  }
  assert.ok(live > 0);
  // Every id that answers holds a slot the stats count (entries counts slots, so it bounds what is found).
  assert.ok(found <= s.entries, `${found} ids answer, ${s.entries} entries counted`);
});

// HOTSESSION_SHM_SOAK=30 repeats it 30 times (races that need a termination
// at one exact instant show up in tens of rounds, not in one).
const soak = Number(process.env.HOTSESSION_SHM_SOAK ?? 1);

test(`workers terminated mid-load leave the others working and the table consistent (x${soak})`, { timeout: 60_000 * soak }, async () => {
  for (let round = 0; round < soak; round++) await terminationRound(round);
});

async function terminationRound(round) {
  const name = tableName();
  const store = new SharedMemoryStore({ name, maxBytes: 4 * 2 ** 20 });
  const sharedIds = Array.from({ length: 32 }, (_, i) => `shared-${i}`);
  for (const [i, id] of sharedIds.entries()) store.set(id, rec({ seed: i }), 3_600_000);
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const progress = new Int32Array(new SharedArrayBuffer(4 * 16));
  const survivors = [0, 1, 2].map((t) => run({ name, t, mode: 'patch', sharedIds, seed: 3000 + t + 7 * round, stop, progress }));
  for (let k = 0; k < 6; k++) {
    // A thread doing nothing but table operations: terminate() lands inside one.
    const victim = run({ name, t: 3 + k, mode: k % 2 ? 'churn' : 'patch', sharedIds, seed: 4000 + k + 7 * round, stop: new Int32Array(new SharedArrayBuffer(4)), progress });
    victim.result.catch(() => {});
    while (Atomics.load(progress, 3 + k) < 2000) await sleep(5);
    const before = [0, 1, 2].map((t) => Atomics.load(progress, t));
    await victim.worker.terminate();
    const t0 = Date.now();
    // The survivors keep going (nothing was left locked).
    while ([0, 1, 2].some((t, i) => Atomics.load(progress, t) < before[i] + 1000)) {
      assert.ok(Date.now() - t0 < 20_000, 'a survivor stopped making progress after a termination');
      await sleep(5);
    }
  }
  Atomics.store(stop, 0, 1);
  const results = await Promise.all(survivors.map((r) => r.result));
  for (const r of results) assert.deepEqual(r.errors, []);
  for (const id of sharedIds) {
    const data = decode(store.get(id));
    for (const [t, r] of results.entries()) if (r.lastOk[id] !== undefined) assert.equal(data[`t${t}`], valueFor(r.lastOk[id]), `${id}, thread ${t}`);
    for (const [k, v] of Object.entries(data)) if (k !== 'seed') checkValue(v);
  }
  // The table still takes new sessions and changes, from this thread too.
  for (let i = 0; i < 2000; i++) {
    store.set(`after-${i}`, rec({ i }), 60_000);
    assert.equal(store.patch(`after-${i}`, patch({ j: i }), 60_000), 'ok');
    assert.deepEqual(decode(store.get(`after-${i}`)), { i, j: i });
  }
  checkBounds(store);
  await store.close();
}
