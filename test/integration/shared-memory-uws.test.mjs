// Real uWS apps in three worker threads, each on a port of its own (so the
// test knows which thread serves each request), over one SharedMemoryStore
// the main thread created: a session made through one thread is read and
// changed through the others.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { SharedMemoryStore } from 'hotsession';
import { Jar, request } from '../helpers/jar.mjs';

const name = `uws-threads-${randomUUID()}`;
const secret = 'shared memory uws test secret';
// The rule: the table exists before the workers that use it start.
const table = new SharedMemoryStore({ name, maxBytes: 8 * 2 ** 20 });

const workers = [];
async function startWorkers(n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const w = new Worker(new URL('./shared-memory-uws-worker.mjs', import.meta.url), { workerData: { name, secret } });
    workers.push(w);
    const info = await new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
    out.push({ url: `http://127.0.0.1:${info.port}`, threadId: info.threadId });
  }
  return out;
}

after(async () => {
  await Promise.all(workers.map((w) => new Promise((resolve) => {
    w.once('exit', resolve);
    w.postMessage('close');
  })));
  await table.close();
});

test('a session created through worker 1 is read and changed through workers 2 and 3', async () => {
  const [w1, w2, w3] = await startWorkers(3);
  assert.equal(new Set([w1.threadId, w2.threadId, w3.threadId]).size, 3, 'three threads');
  const jar = new Jar();
  const created = await request(w1.url, '/set?user=ada', jar);
  assert.equal(created.status, 200);
  assert.equal(created.setCookie.length, 1, 'the new session sets its cookie');

  assert.deepEqual((await request(w2.url, '/get?k=user', jar)).body, { value: 'ada' }, 'worker 2 reads what worker 1 wrote');
  assert.equal((await request(w3.url, '/set?role=admin', jar)).status, 200, 'worker 3 changes it');
  const all = await request(w1.url, '/all', jar);
  assert.deepEqual(all.body.data, { user: 'ada', role: 'admin' }, 'worker 1 sees worker 3\'s change');
  assert.equal(all.body.isNew, false);

  assert.equal((await request(w2.url, '/del?k=role', jar)).status, 200);
  assert.deepEqual((await request(w3.url, '/all', jar)).body.data, { user: 'ada' });

  // Flashes are read once, whichever thread reads them.
  await request(w1.url, '/flash?v=hello', jar);
  assert.deepEqual((await request(w2.url, '/flashes', jar)).body, { flashes: ['hello'] });
  assert.deepEqual((await request(w3.url, '/flashes', jar)).body, { flashes: [] });

  // A regenerate through one thread moves the session for all of them.
  const before = (await request(w1.url, '/id', jar)).body.id;
  const regen = await request(w2.url, '/regenerate', jar);
  assert.equal(regen.body.before, before);
  assert.notEqual(regen.body.after, before);
  assert.deepEqual((await request(w3.url, '/get?k=user', jar)).body, { value: 'ada' }, 'the new id carries the data');
  assert.equal((await request(w1.url, '/id', jar)).body.id, regen.body.after);

  // The main thread's instance sees the same table.
  assert.ok(table.get(regen.body.after), 'the record is in the table the main thread created');
  // The old id is no live session any more: a forward marker (layout.ts, kind 1) for the grace window.
  const old = table.get(before);
  assert.ok(old === null || (old[0] === 0x68 && old[1] === 2 && old[2] === 1), 'the old id is retired');

  // A logout through worker 3 logs the session out on worker 1 too.
  assert.equal((await request(w3.url, '/destroy', jar)).status, 200);
  const fresh = await request(w1.url, '/all', jar);
  assert.equal(fresh.body.isNew, true);
  assert.deepEqual(fresh.body.data, {});
});

test('sessions made on any thread are found on every other one', async () => {
  const ws = await startWorkers(3);
  const jars = [];
  for (let i = 0; i < 30; i++) {
    const jar = new Jar();
    await request(ws[i % 3].url, `/set?n=${i}`, jar);
    jars.push(jar);
  }
  for (let i = 0; i < 30; i++) {
    for (const w of ws) assert.deepEqual((await request(w.url, '/get?k=n', jars[i])).body, { value: String(i) }, `session ${i} through thread ${w.threadId}`);
  }
});
