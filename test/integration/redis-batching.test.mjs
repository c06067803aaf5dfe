// What batching does on a real Redis: writes of one turn leave in one
// socket write (pipelined), reads of one id in flight share a round trip,
// reads of a turn go as one MGET, batch:false sends each alone. Writes are
// counted where the client's socket hands bytes to the OS (net.Socket's
// _write/_writev), not by mocking anything.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { RedisStore } from 'hotsession/redis';
import { backend, REDIS_URL } from '../helpers/backends.mjs';
import { dropRedisPrefix } from '../helpers/cleanup.mjs';

const skip = await backend('redis');
const run = randomBytes(6).toString('hex');
const record = (n) => Buffer.concat([Buffer.from([0x68, 1, 0, 0]), randomBytes(n)]);

/** A client whose socket writes to the OS are counted. */
async function countedClient() {
  const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  await client.ping();
  const stream = client.stream;
  const counter = { writes: 0 };
  for (const name of ['_write', '_writev']) {
    const original = stream[name];
    stream[name] = function (...args) {
      counter.writes++;
      return original.apply(this, args);
    };
  }
  return { client, counter };
}

describe('RedisStore batching on a real Redis', { skip: skip?.reason ?? false }, () => {
  const open = [];
  let raw;
  const make = async (opts = {}) => {
    const { client, counter } = await countedClient();
    const prefix = `sess:test:${run}:${open.length}:`;
    const store = new RedisStore({ client, prefix, ...opts });
    open.push({ store, client });
    return { store, counter, prefix };
  };
  before(async () => {
    raw = new Redis(REDIS_URL);
  });
  after(async () => {
    for (const { store, client } of open) {
      await store.close();
      await client.quit();
    }
    await raw.quit();
    await dropRedisPrefix(REDIS_URL, `sess:test:${run}:`);
  });

  test('N saves in one turn go out as one pipeline, each acknowledged', async () => {
    const { store, counter, prefix } = await make();
    const ids = Array.from({ length: 50 }, (_, i) => `batch${i}`);
    const values = ids.map(() => record(300));
    counter.writes = 0;
    await Promise.all(ids.map((id, i) => store.set(id, values[i], 60_000)));
    assert.equal(counter.writes, 1, 'one socket write for the whole batch');
    const stored = await raw.mgetBuffer(ids.map((id) => prefix + id));
    assert.deepEqual(stored, values);
    const ttl = await raw.pttl(prefix + ids[0]);
    assert.ok(ttl > 50_000 && ttl <= 60_000, `PX applied: ${ttl}`);
  });

  test('with scripts: false (single commands) a batch is still one socket write', async () => {
    const { store, counter, prefix } = await make({ scripts: false });
    const ids = Array.from({ length: 20 }, (_, i) => `cmd${i}`);
    const values = ids.map(() => record(100));
    await store.set('gone', record(8), 60_000);
    counter.writes = 0;
    await Promise.all([...ids.map((id, i) => store.set(id, values[i], 60_000)), store.destroy('gone'), store.touch(ids[0], 90_000)]);
    assert.equal(counter.writes, 1);
    assert.deepEqual(await raw.mgetBuffer(ids.map((id) => prefix + id)), values);
    assert.equal(await raw.exists(prefix + 'gone'), 0);
    assert.ok((await raw.pttl(prefix + ids[0])) > 80_000, 'a touch after a save in one batch extends the save');
  });

  test('a batch larger than maxBatch leaves in several writes, every save acknowledged', async () => {
    const { store, counter, prefix } = await make({ maxBatch: 8 });
    const ids = Array.from({ length: 20 }, (_, i) => `cap${i}`);
    const values = ids.map(() => record(50));
    counter.writes = 0;
    await Promise.all(ids.map((id, i) => store.set(id, values[i], 60_000)));
    assert.equal(counter.writes, 3);
    assert.deepEqual(await raw.mgetBuffer(ids.map((id) => prefix + id)), values);
  });

  test('gets of one id in flight share one round trip; gets of a turn share one MGET', async () => {
    const { store, counter } = await make();
    const value = record(64);
    await store.set('one', value, 60_000);
    counter.writes = 0;
    const same = await Promise.all(Array.from({ length: 10 }, () => store.get('one')));
    assert.equal(counter.writes, 1);
    for (const v of same) assert.deepEqual(v, value);
    counter.writes = 0;
    const ids = ['one', ...Array.from({ length: 19 }, (_, i) => `absent${i}`)];
    const many = await Promise.all(ids.map((id) => store.get(id)));
    assert.equal(counter.writes, 1);
    assert.deepEqual(many[0], value);
    assert.deepEqual(many.slice(1), Array(19).fill(null), 'absent is null, not an error');
  });

  test('batch: false sends every operation alone', async () => {
    const { store, counter } = await make({ batch: false });
    counter.writes = 0;
    await Promise.all(Array.from({ length: 10 }, (_, i) => store.set(`alone${i}`, record(16), 60_000)));
    assert.equal(counter.writes, 10);
    counter.writes = 0;
    await Promise.all(Array.from({ length: 5 }, (_, i) => store.get(`alone${i}`)));
    assert.equal(counter.writes, 5);
  });

  test('a destroy in the same turn as a save wins', async () => {
    const { store, counter, prefix } = await make();
    await store.set('logout', record(8), 60_000);
    counter.writes = 0;
    await Promise.all([store.set('logout', record(8), 60_000), store.destroy('logout'), store.set('logout', record(8), 60_000)]);
    assert.equal(counter.writes, 1);
    assert.equal(await raw.exists(prefix + 'logout'), 0);
  });

  test('values are binary-safe Buffers', async () => {
    const { store } = await make();
    const every = Buffer.alloc(256 * 4);
    for (let i = 0; i < every.length; i++) every[i] = i & 0xff;
    every[0] = 0x68;
    await store.set('bytes', new Uint8Array(every), 60_000);
    const back = await store.get('bytes');
    assert.ok(Buffer.isBuffer(back));
    assert.deepEqual(back, every);
  });

  test('a mixed batch keeps every record byte-exact and every TTL its own', async () => {
    const { store, prefix } = await make();
    const every = new Uint8Array(256 * 3);
    for (let i = 0; i < every.length; i++) every[i] = i & 0xff;
    every[0] = 0x68;
    const ttls = [1_000, 9_999, 60_000, 3_600_000, 86_400_000 * 400, 2_500.5];
    await Promise.all([store.set('old', record(8), 60_000), store.set('touched', record(8), 5_000)]);
    await Promise.all([
      store.destroy('old'),
      ...ttls.map((ttl, i) => store.set(`mix${i}`, every.subarray(0, 1 + i * 100), ttl)),
      store.touch('touched', 120_000),
      store.set('empty', new Uint8Array(0), 60_000),
      store.touch('absent', 60_000),
    ]);
    for (let i = 0; i < ttls.length; i++) {
      assert.deepEqual(await raw.getBuffer(`${prefix}mix${i}`), Buffer.from(every.subarray(0, 1 + i * 100)));
      const left = await raw.pttl(`${prefix}mix${i}`);
      assert.ok(left > 0 && left <= Math.ceil(ttls[i]) && left > Math.ceil(ttls[i]) - 1_000, `TTL ${ttls[i]}: ${left}`);
    }
    assert.deepEqual(await raw.getBuffer(`${prefix}empty`), Buffer.alloc(0));
    assert.equal(await raw.exists(`${prefix}old`), 0);
    assert.ok((await raw.pttl(`${prefix}touched`)) > 60_000);
    assert.equal(await raw.exists(`${prefix}absent`), 0, 'a touch never creates a record');
  });

  test('touch sends PEXPIRE; touchAfter skips it while the last extension is recent', async () => {
    const { store, counter, prefix } = await make();
    await store.set('t', record(8), 10_000);
    counter.writes = 0;
    await store.touch('t', 60_000);
    assert.equal(counter.writes, 1);
    assert.ok((await raw.pttl(prefix + 't')) > 50_000);

    const lazy = await make({ touchAfter: 30_000 });
    await lazy.store.set('t', record(8), 10_000);
    lazy.counter.writes = 0;
    assert.equal(lazy.store.touch('t', 60_000), undefined, 'a save just extended it: no round trip');
    assert.equal(lazy.counter.writes, 0);
    assert.ok((await raw.pttl(lazy.prefix + 't')) <= 10_000);
    await lazy.store.destroy('t');
    await raw.set(lazy.prefix + 'v', record(8), 'PX', 10_000);
    lazy.counter.writes = 0;
    await lazy.store.touch('v', 60_000); // never extended by this process
    assert.equal(lazy.counter.writes, 1);
    assert.ok((await raw.pttl(lazy.prefix + 'v')) > 50_000);
  });

  test('bad options fail fast with a coded error', () => {
    for (const o of [{}, { client: {} }, { client: raw, ttl: 0 }, { client: raw, touchAfter: -1 }, { client: raw, legacy: 'write' }, { client: raw, timeout: 0 }, { client: raw, scripts: 'no' }]) {
      assert.throws(() => new RedisStore(o), { code: 'HOTSESSION_ERR_OPTIONS' });
    }
  });
});
