import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { MemoryStore } from 'hotsession';

const rec = (s) => Buffer.from(s);

test('10,000 sessions created then left to expire leave the store empty', async () => {
  const store = new MemoryStore({ sweepInterval: 50 });
  for (let i = 0; i < 10_000; i++) store.set(`id${i}`, rec('x'), 30 + (i % 40));
  assert.equal(store.size, 10_000);
  await sleep(250);
  assert.equal(store.size, 0);
  await store.close();
});

test('expired entries are never returned, even before the sweep', async () => {
  const store = new MemoryStore({ sweepInterval: 60_000 });
  store.set('a', rec('x'), 10);
  await sleep(20);
  assert.equal(store.get('a'), null);
  await store.close();
});

test('max evicts the least recently used', async () => {
  const store = new MemoryStore({ max: 3 });
  store.set('a', rec('a'), 1000);
  store.set('b', rec('b'), 1000);
  store.set('c', rec('c'), 1000);
  store.get('a'); // a is now the most recent
  store.set('d', rec('d'), 1000);
  assert.equal(store.get('b'), null);
  assert.ok(store.get('a'));
  assert.ok(store.get('c'));
  assert.ok(store.get('d'));
  assert.equal(store.size, 3);
  await store.close();
});

test('touch extends, destroy removes, absent ids are null', async () => {
  const store = new MemoryStore();
  store.set('a', rec('a'), 30);
  store.touch('a', 1000);
  store.touch('missing', 1000);
  await sleep(50);
  assert.deepEqual(store.get('a'), rec('a'));
  store.destroy('a');
  store.destroy('a');
  assert.equal(store.get('a'), null);
  await store.close();
});

test('close stops the timer so the process can exit', async () => {
  const { spawnSync } = await import('node:child_process');
  const r = spawnSync(process.execPath, ['-e', "const { MemoryStore } = require('hotsession'); const s = new MemoryStore({ sweepInterval: 10 }); s.set('a', Buffer.from('x'), 100000); s.close();"], { timeout: 5000 });
  assert.equal(r.status, 0);
});

test('bad options are refused', () => {
  assert.throws(() => new MemoryStore({ max: 0 }), { code: 'HOTSESSION_ERR_OPTIONS' });
  assert.throws(() => new MemoryStore({ sweepInterval: -1 }), { code: 'HOTSESSION_ERR_OPTIONS' });
});
