// Users' sessions on SharedMemoryStore (issue #17): the cases every store
// passes, then the index from several threads at once: first logins of the
// same users racing in 4 workers (each user's index is created by whichever
// thread wins, the others' entries must all be there), and puts racing
// removes on one user.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { SharedMemoryStore, createSessionManager } from 'hotsession';
import { usersCases } from './users-cases.mjs';

let n = 0;
const tableName = () => `users-${process.pid}-${++n}`;

usersCases('users: SharedMemoryStore over node:http', { makeStore: () => new SharedMemoryStore({ name: tableName(), maxBytes: 32 * 2 ** 20 }) });

const workerCode = `
  const { workerData: d, parentPort } = require('node:worker_threads');
  const { SharedMemoryStore } = require(${JSON.stringify(new URL('../../dist/index.js', import.meta.url).pathname)});
  const idx = new SharedMemoryStore({ name: d.name }).users;
  const gate = new Int32Array(d.gate);
  Atomics.add(gate, 0, 1);
  while (Atomics.load(gate, 0) < d.threads) {}
  const acked = [];
  for (let u = 0; u < d.users; u++) {
    // In step: every thread creates user u's index at the same instant.
    Atomics.add(gate, 1, 1);
    while (Atomics.load(gate, 1) < d.threads * (u + 1)) {}
    idx.put('user-' + u, 'h' + d.t, 's' + d.t + '-' + u + '\\n{}', 60000);
    acked.push(u);
  }
  // One shared user: put 300 handles, remove every other one right away.
  for (let k = 0; k < 300; k++) {
    idx.put('shared', 't' + d.t + '-' + k, 'x' + d.t + '-' + k + '\\n{}', 60000);
    if (k % 2 === 1) idx.remove('shared', 't' + d.t + '-' + k, 'x' + d.t + '-' + k);
  }
  parentPort.postMessage(acked.length);`;

test('first logins of the same users racing in 2 threads in step: every thread\'s entry is listed; puts racing removes keep exactly the kept ones', async () => {
  const name = tableName();
  const store = new SharedMemoryStore({ name, maxBytes: 16 * 2 ** 20 });
  const threads = 2;
  const users = 2000;
  const gate = new SharedArrayBuffer(8);
  const done = await Promise.all(Array.from({ length: threads }, (_, t) => new Promise((resolve, reject) => {
    const w = new Worker(workerCode, { eval: true, workerData: { name, t, threads, users, gate } });
    w.once('message', resolve);
    w.once('error', reject);
  })));
  assert.deepEqual(done, [users, users]);
  for (let u = 0; u < users; u++) {
    const got = new Map(store.users.list(`user-${u}`));
    assert.equal(got.size, threads, `user-${u}: ${[...got.keys()]}`);
    for (let t = 0; t < threads; t++) assert.equal(got.get(`h${t}`), `s${t}-${u}\n{}`);
    // The racing creations left one record per user, not duplicates.
    assert.equal(store.users.list(`user-${u}`).length, threads);
  }
  const shared = new Map(store.users.list('shared'));
  assert.equal(shared.size, threads * 150);
  for (let t = 0; t < threads; t++) for (let k = 0; k < 300; k += 2) assert.ok(shared.has(`t${t}-${k}`), `t${t}-${k}`);
  await store.close();
});

test('remove with a session id removes the entry only while it names that session', () => {
  const store = new SharedMemoryStore({ name: tableName() });
  const idx = store.users;
  assert.equal(idx.put('ada', 'h1', 'sid-1\n{"c":1}', 60_000), 1);
  assert.equal(idx.put('ada', 'h2', 'sid-2\n{}', 60_000), 2);
  idx.remove('ada', 'h1', 'sid-9');
  assert.deepEqual(idx.list('ada').map(([h]) => h).sort(), ['h1', 'h2']);
  idx.remove('ada', 'h1', 'sid-1');
  idx.remove('ada', 'h2');
  idx.remove('nobody', 'h2');
  assert.deepEqual(idx.list('ada'), []);
  // A user id past the table's key limit is hashed, and never meets a session id.
  const long = 'é'.repeat(300);
  idx.put(long, 'h', 'sid\n{}', 60_000);
  assert.deepEqual(idx.list(long), [['h', 'sid\n{}']]);
  assert.equal(store.get('ada'), null);
});

test('an index lives as long as its longest-lived entry, then is swept', async () => {
  const store = new SharedMemoryStore({ name: tableName() });
  const idx = store.users;
  idx.put('kim', 'long', 'a\n{}', 60_000);
  idx.put('kim', 'short', 'b\n{}', 30);
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(idx.list('kim').map(([h]) => h).sort(), ['long', 'short'], 'a shorter put does not cut the index short');
  idx.put('eve', 'h', 'c\n{}', 20);
  await new Promise((r) => setTimeout(r, 40));
  assert.deepEqual(idx.list('eve'), []);
  assert.ok(store.sweep() >= 1);
});

test('login, sessionsOf and revokeUser through a manager on SharedMemoryStore', async () => {
  const store = new SharedMemoryStore({ name: tableName() });
  const m = createSessionManager('sid', store, { secret: 'x' });
  const a = await m.load(undefined);
  await a.login('ada', { device: 'a' });
  await m.commit(a);
  const b = await m.load(undefined);
  await b.login('ada', { device: 'b' });
  await m.commit(b);
  assert.deepEqual((await m.sessionsOf('ada')).map((d) => d.meta.device), ['a', 'b']);
  assert.equal(await m.revokeUser('ada', { except: a.handle }), 1);
  assert.equal(store.get(b.id), null);
  assert.notEqual(store.get(a.id), null);
  await store.close();
});

test('a user\'s index outlives laps of the table that never read it: busy sessions stay listed and revocable', async () => {
  // A 1 MiB table: its logs come round every few hundred KiB written.
  const store = new SharedMemoryStore({ name: tableName(), maxBytes: 2 ** 20 });
  const m = createSessionManager('sid', store, { secret: 'x' });
  const cookies = [];
  for (let i = 0; i < 16; i++) {
    const s = await m.load(undefined);
    await s.login('ada', { device: `d${i}` });
    cookies.push([...m.takePending(s), ...(await m.commit(s))][0].split(';')[0]);
  }
  // The sessions are busy: each request rewrites them (into the main log, where the index
  // lives too), many times the table's size, while nothing reads or writes the index.
  const before = store.stats().reclaims;
  for (let round = 0; round < 200; round++) {
    for (const c of cookies) {
      const s = await m.load(c);
      s.set('pad', `${round}`.padEnd(2000, 'p'));
      await m.commit(s);
    }
  }
  assert.ok(store.stats().reclaims - before > 20, `the table came round (${store.stats().reclaims - before} reclaims)`);
  assert.equal((await m.sessionsOf('ada')).length, 16);
  assert.equal(await m.revokeUser('ada'), 16);
  for (const c of cookies) assert.equal((await m.load(c)).userId, undefined, 'no session survives "log out everywhere"');
  await store.close();
});
