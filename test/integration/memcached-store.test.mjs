// MemcachedStore against a memcached of its own: expiry arithmetic (seconds,
// and absolute times past 30 days), size limits, coalescing and single-flight
// reads counted by the server's own stats, bad records and keys.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import memjs from 'memjs';
import { MemcachedStore, memcachedExpiry, MAX_RELATIVE_SECONDS } from 'hotsession/memcached';
import { memcachedBinary, startMemcached, stats, freePort } from '../helpers/memcached-procs.mjs';

const DAY = 86_400_000;
const frame = (n = 8) => {
  const r = new Uint8Array(n);
  r[0] = 0x68;
  return r;
};
const id = (s) => s.padEnd(32, '0');

test('memcachedExpiry: whole seconds rounded up, absolute unix time past 30 days', () => {
  const now = 1_700_000_000_123;
  assert.equal(MAX_RELATIVE_SECONDS, 2_592_000);
  assert.equal(memcachedExpiry(1, now), 1);
  assert.equal(memcachedExpiry(999, now), 1);
  assert.equal(memcachedExpiry(1000, now), 1);
  assert.equal(memcachedExpiry(1001, now), 2);
  assert.equal(memcachedExpiry(0.5, now), 1, 'never 0: that would mean "never expire"');
  assert.equal(memcachedExpiry(30 * DAY, now), 2_592_000, 'exactly 30 days is still relative');
  assert.equal(memcachedExpiry(30 * DAY + 1, now), Math.ceil((now + 30 * DAY + 1) / 1000));
  assert.equal(memcachedExpiry(365 * DAY, now), Math.ceil((now + 365 * DAY) / 1000));
  assert.ok(memcachedExpiry(365 * DAY, now) > now / 1000, 'an absolute time is in the future');
});

describe('MemcachedStore on its own memcached', { skip: memcachedBinary()?.reason ?? false }, () => {
  let mc;
  let store;
  let raw;
  before(async () => {
    mc = await startMemcached();
    store = new MemcachedStore({ servers: mc.servers, prefix: 't:' });
    raw = memjs.Client.create(mc.servers, { retries: 0, logger: { log() {} } });
  });
  after(async () => {
    await store?.close();
    raw?.close();
    await mc?.destroy();
  });

  test('records are stored as framed, under the prefix, with the session TTL', async () => {
    const rec = frame(16);
    rec[5] = 42;
    await store.set(id('a'), rec, 60_000);
    const { value } = await raw.get('t:' + id('a'));
    assert.deepEqual(new Uint8Array(value), rec);
    assert.deepEqual(new Uint8Array(await store.get(id('a'))), rec);
    assert.equal(await store.get(id('missing')), null);
  });

  test('a lifetime past 30 days is sent as an absolute time (the record stays)', async () => {
    await store.set(id('long'), frame(), 90 * DAY);
    await store.touch(id('long'), 400 * DAY);
    await sleep(1100);
    assert.notEqual(await store.get(id('long')), null, 'a relative 90 days would read as 1970 and expire at once');
  });

  test('short lifetimes expire in memcached; touch extends them', async () => {
    // memcached's clock ticks once a second: a TTL of s seconds ends within (s - 1, s] s.
    await store.set(id('short'), frame(), 2000);
    await store.set(id('touched'), frame(), 2000);
    await store.touch(id('touched'), 6000);
    assert.notEqual(await store.get(id('short')), null);
    await sleep(2300);
    assert.equal(await store.get(id('short')), null);
    assert.notEqual(await store.get(id('touched')), null);
  });

  test('touch and destroy of an absent record are not errors', async () => {
    await store.touch(id('nobody'), 1000);
    await store.destroy(id('nobody'));
  });

  test('a record past maxValueSize fails with RECORD_TOO_LARGE before anything is sent', async () => {
    // A store aimed at a closed port: had it sent anything, the error would be ECONNREFUSED.
    const offline = new MemcachedStore({ servers: `127.0.0.1:${await freePort()}` });
    try {
      const err = await offline.set(id('big'), frame(1_048_576), 1000).catch((e) => e);
      assert.equal(err.code, 'HOTSESSION_ERR_RECORD_TOO_LARGE');
      assert.match(err.message, /1048576 bytes/);
    } finally {
      await offline.close();
    }
    // Just under the limit (value + key + item header) memcached takes it.
    const key = 't:' + id('fits');
    await store.set(id('fits'), frame(1_048_576 - key.length - 64), 5000);
    assert.equal((await store.get(id('fits'))).length, 1_048_576 - key.length - 64);
    const over = await store.set(id('fits'), frame(1_048_576 - key.length - 63), 5000).catch((e) => e);
    assert.equal(over.code, 'HOTSESSION_ERR_RECORD_TOO_LARGE');
  });

  test("memcached's own refusal (value too large) is RECORD_TOO_LARGE too", async () => {
    const lax = new MemcachedStore({ servers: mc.servers, prefix: 't:', maxValueSize: 4 * 1_048_576 });
    try {
      const err = await lax.set(id('huge'), frame(2 * 1_048_576), 5000).catch((e) => e);
      assert.equal(err.code, 'HOTSESSION_ERR_RECORD_TOO_LARGE');
      // The connection survives the refusal.
      await lax.set(id('after-huge'), frame(), 5000);
      assert.notEqual(await lax.get(id('after-huge')), null);
    } finally {
      await lax.close();
    }
  });

  test('gets of one id in flight share one round trip; distinct ids cost one get each', async () => {
    await store.set(id('hot'), frame(), 60_000);
    const before = Number((await stats(mc.port)).cmd_get);
    const reads = await Promise.all(Array.from({ length: 50 }, () => store.get(id('hot'))));
    assert.ok(reads.every((r) => r !== null && r[0] === 0x68));
    const mid = Number((await stats(mc.port)).cmd_get);
    assert.equal(mid - before, 1, '50 concurrent gets of one id: one memcached get');
    await Promise.all([store.get(id('hot')), store.get(id('a')), store.get(id('missing'))]);
    assert.equal(Number((await stats(mc.port)).cmd_get) - mid, 3);
  });

  test('writes to one id in one turn collapse to the last; a destroy wins', async () => {
    const before = await stats(mc.port);
    const r1 = frame();
    const r2 = frame();
    r2[3] = 2;
    await Promise.all([
      store.set(id('w'), r1, 60_000),
      store.set(id('w'), r2, 60_000),
      store.set(id('gone'), r1, 60_000),
      store.destroy(id('gone')),
      store.set(id('gone'), r2, 60_000),
    ]);
    const after = await stats(mc.port);
    assert.equal(Number(after.cmd_set) - Number(before.cmd_set), 1, 'one set reached memcached');
    assert.equal((await store.get(id('w')))[3], 2);
    assert.equal(await store.get(id('gone')), null);
  });

  test('with batch: false every operation goes alone and still settles', async () => {
    const single = new MemcachedStore({ servers: mc.servers, prefix: 't:', batch: false, pool: 1 });
    try {
      await Promise.all([single.set(id('s1'), frame(), 60_000), single.set(id('s2'), frame(), 60_000)]);
      assert.notEqual(await single.get(id('s1')), null);
      await single.destroy(id('s1'));
      assert.equal(await single.get(id('s1')), null);
    } finally {
      await single.close();
    }
  });

  test('garbage in memcached is handed back as bytes the manager rejects; JSON only with legacy', async () => {
    await raw.set('t:' + id('junk'), Buffer.from('{"user":"x","cookie":{}}'), { expires: 60 });
    const plain = await store.get(id('junk'));
    assert.ok(plain instanceof Uint8Array, 'without legacy a JSON record is just bytes (the manager sees no frame)');
    const legacy = new MemcachedStore({ servers: mc.servers, prefix: 't:', legacy: 'read' });
    try {
      const rec = await legacy.get(id('junk'));
      assert.deepEqual(rec.data, { user: 'x' });
      assert.equal(rec.expiresAt, 0);
      await raw.set('t:' + id('junk2'), Buffer.from('{not json'), { expires: 60 });
      assert.equal(await legacy.get(id('junk2')), null);
      // connect-memcached with `secret` stores kruptein JSON: not a session, so a fresh one.
      await raw.set('t:' + id('enc'), Buffer.from('{"hmac":"ab","ct":"cd","iv":"ef","at":"gh"}'), { expires: 60 });
      assert.equal(await legacy.get(id('enc')), null);
      await raw.set('t:' + id('proto'), Buffer.from('{"__proto__":{"admin":true},"a":1,"cookie":{"path":"/"}}'), { expires: 60 });
      const p = await legacy.get(id('proto'));
      assert.deepEqual(p.data, { a: 1 });
      assert.equal({}.admin, undefined);
      assert.equal(Object.getPrototypeOf(p.data), Object.prototype);
    } finally {
      await legacy.close();
    }
  });

  test('ids that cannot be memcached keys: get is null, destroy is a no-op, set is a coded error', async () => {
    const long = 'x'.repeat(300);
    assert.equal(await store.get(long), null);
    await store.destroy(long);
    const err = await store.set(long, frame(), 1000).catch((e) => e);
    assert.equal(err.code, 'HOTSESSION_ERR_OPTIONS');
  });

  test('ttl caps the lifetime the session asks for and never extends it', async () => {
    const short = new MemcachedStore({ servers: mc.servers, prefix: 't:', ttl: 1000 });
    const long = new MemcachedStore({ servers: mc.servers, prefix: 't:', ttl: 3_600_000 });
    try {
      await short.set(id('ttl'), frame(), 60_000);
      await long.set(id('ttl-long'), frame(), 1000);
      await sleep(2200);
      assert.equal(await short.get(id('ttl')), null, 'capped at 1 s');
      assert.equal(await long.get(id('ttl-long')), null, 'a longer ttl does not outlive the session');
    } finally {
      await short.close();
      await long.close();
    }
  });

  test('a client passed in is used as is and left open by close()', async () => {
    const client = memjs.Client.create(mc.servers, { retries: 0, logger: { log() {} } });
    const s = new MemcachedStore({ client, prefix: 'own:' });
    await s.set(id('c'), frame(), 60_000);
    assert.notEqual(await s.get(id('c')), null);
    await s.close();
    const { value } = await client.get('own:' + id('c'));
    assert.equal(value[0], 0x68, 'the caller\'s client still works after the store closed');
    client.close();
  });

  test('bad options fail fast with coded errors', () => {
    for (const o of [{ pool: 0 }, { ttl: -1 }, { legacy: 'write' }, { maxValueSize: 10 }, { prefix: 'a b' }, { timeout: 0 }, { servers: '' }, { client: {} }]) {
      assert.throws(() => new MemcachedStore(o), { code: 'HOTSESSION_ERR_OPTIONS' }, JSON.stringify(o));
    }
  });

  test('after close: reads and writes reject with STORE_CLOSED', async () => {
    const s = new MemcachedStore({ servers: mc.servers });
    await s.close();
    assert.equal((await s.get(id('a')).catch((e) => e)).code, 'HOTSESSION_ERR_STORE_CLOSED');
    assert.equal((await s.set(id('a'), frame(), 1000).catch((e) => e)).code, 'HOTSESSION_ERR_STORE_CLOSED');
  });
});
