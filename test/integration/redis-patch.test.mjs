// RedisStore.patch and .forward on a standalone Redis (the shared one, a
// prefix per run), with the write script (one EVALSHA per batch) and without
// it (WATCH/MULTI transactions): the same results as codec.apply on random
// records and patches, no lost update under concurrency from several
// clients, no resurrection after a logout, regenerate's forward racing
// patches, old records upgraded by the CLEAR patch, maxRecordSize.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { RedisStore } from 'hotsession/redis';
import { backend, REDIS_URL } from '../helpers/backends.mjs';
import {
  checkParity, concurrentKeys, destroyRace, forwardRace, keysOf, patch, prng, randomPatch, randomStored, record, R, TAG, upgradeOldRecords,
} from '../helpers/redis-patch.mjs';

const skip = await backend('redis');
const run = randomBytes(6).toString('hex');

for (const scripts of [true, false]) {
  describe(`RedisStore patch and forward (standalone, scripts: ${scripts})`, { skip: skip?.reason ?? false }, () => {
    const open = [];
    let raw;
    let n = 0;
    const prefix = `sess:test:${run}:${scripts ? 's' : 'w'}:`;
    const key = (id) => prefix + id;
    const make = (opts = {}) => {
      const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
      try {
        const store = new RedisStore({ client, prefix, scripts, ...opts });
        open.push({ store, client });
        return store;
      } catch (err) {
        client.disconnect();
        throw err;
      }
    };
    before(() => {
      raw = new Redis(REDIS_URL);
    });
    after(async () => {
      for (const { store, client } of open) {
        await store.close();
        await client.quit();
      }
      const left = await raw.keys(`${prefix}*`);
      if (left.length) await raw.del(...left);
      await raw.quit();
    });

    test('patches give what codec.apply gives, on random records and patches (one batch)', async () => {
      const store = make({ maxRecordSize: 2048 });
      for (let seed = 1; seed <= 6; seed++) {
        const rnd = prng(seed * 7919 + (scripts ? 0 : 1));
        const cases = Array.from({ length: 50 }, () => ({ cur: randomStored(rnd, seed % 2 ? 40 : 400), p: randomPatch(rnd, seed % 2 ? 40 : 400) }));
        await checkParity({ store, raw, key, cases, together: true, seed });
      }
    });

    test('ttl caps the lifetime a set, a patch and a touch give, and never extends it', async () => {
      const capped = make({ ttl: 5000 });
      const loose = make({ ttl: 3_600_000 });
      await capped.set('ttl-a', record({ a: 1 }), 60_000);
      await loose.set('ttl-b', record({ b: 1 }), 60_000);
      assert.ok((await raw.pttl(key('ttl-a'))) <= 5000, 'a set is capped');
      const b = await raw.pttl(key('ttl-b'));
      assert.ok(b > 5000 && b <= 60_000, `a longer ttl leaves the session's lifetime alone (${b} ms)`);
      await capped.patch('ttl-b', patch({ set: { c: 1 } }), 60_000);
      assert.ok((await raw.pttl(key('ttl-b'))) <= 5000, 'a patch is capped');
      await loose.touch('ttl-a', 30_000);
      const a = await raw.pttl(key('ttl-a'));
      assert.ok(a > 5000 && a <= 30_000, `a touch gets the session's lifetime under a longer cap (${a} ms)`);
    });

    test('the same, one patch at a time', async () => {
      const store = make({ maxRecordSize: 2048 });
      const rnd = prng(424242);
      const cases = Array.from({ length: 40 }, () => ({ cur: randomStored(rnd, 300), p: randomPatch(rnd, 300) }));
      await checkParity({ store, raw, key, cases, together: false, seed: 99 });
    });

    for (const n of [20, 200]) {
      test(`${n} concurrent patches on one session from 4 clients keep all ${n} keys`, async () => {
        const stores = [make(), make(), make(), make()];
        await concurrentKeys({ stores, raw, key, id: `many${n}`, n, seed: n });
      });
    }

    test('a logout racing 20 in-flight patches leaves no record', async () => {
      const stores = [make(), make(), make()];
      for (let round = 0; round < 3; round++) await destroyRace({ stores, raw, key, id: `logout${round}`, seed: round + 1 });
    });

    test('a forward racing 20 in-flight patches: each lands before it or is redirected', async () => {
      const stores = [make(), make(), make()];
      for (let round = 0; round < 3; round++) await forwardRace({ stores, raw, key, id: `regen${round}`, seed: round + 1 });
    });

    test('forward: swaps only a live record, returns it as get would', async () => {
      const store = make({ legacy: 'read' });
      const marker = R.forwardMarker('new-id', 0, 1000, TAG);
      assert.equal(await store.forward('nobody', marker, 1000), null, 'nothing to forward');
      assert.equal(await raw.exists(key('nobody')), 0, 'and nothing written');
      await raw.set(key('json'), JSON.stringify({ cookie: { expires: new Date(Date.now() + 60_000).toISOString() }, user: 'ada' }), 'PX', 60_000);
      const held = await store.forward('json', marker, 1000);
      assert.deepEqual(held.data, { user: 'ada' }, 'a legacy record comes back decoded');
      const rec = record({ a: 1 });
      await store.set('rec', rec, 60_000);
      const [got, afterForward] = await Promise.all([store.forward('rec', marker, 2500.5), store.patch('rec', patch({ set: { b: 2 } }), 60_000)]);
      assert.deepEqual(got, rec);
      assert.deepEqual(afterForward, { movedTo: 'new-id' }, 'a patch queued behind the forward is redirected');
      await assert.rejects(store.forward('rec', record({}), 1000), { code: 'HOTSESSION_ERR_ENCODE' });
    });

    test('v1 frames and connect-redis records are read, then replaced by the CLEAR patch', async () => {
      await upgradeOldRecords({ store: make({ legacy: 'read' }), raw, key, id: 'old' });
    });

    test('maxRecordSize: too large a set or patch fails before anything is sent; so does a patch that would grow past it', async () => {
      const store = make({ maxRecordSize: 4096 });
      await assert.rejects(store.set('big', Buffer.alloc(4097, 0x68), 60_000), { code: 'HOTSESSION_ERR_RECORD_TOO_LARGE' });
      assert.equal(await raw.exists(key('big')), 0);
      await store.set('grow', record({ a: 'x'.repeat(3000) }), 60_000);
      await assert.rejects(store.patch('grow', patch({ set: { b: 'y'.repeat(4100) } }), 60_000), { code: 'HOTSESSION_ERR_RECORD_TOO_LARGE' });
      const before = await raw.getBuffer(key('grow'));
      const [grown, other] = await Promise.allSettled([
        store.patch('grow', patch({ set: { b: 'y'.repeat(2000) } }), 60_000),
        store.patch('grow2', patch({ set: { b: 1 } }), 60_000),
      ]);
      assert.equal(grown.reason?.code, 'HOTSESSION_ERR_RECORD_TOO_LARGE', 'refused where it is applied');
      assert.equal(other.value, 'gone', 'the other op of the batch has its own outcome');
      assert.deepEqual(await raw.getBuffer(key('grow')), before, 'nothing written');
      assert.equal(await store.patch('grow', patch({ set: { b: 'y'.repeat(900) } }), 60_000), 'ok', 'one that fits applies');
      // A patch folded into a set still queued: the grown record is refused before it is sent.
      const [set, folded] = await Promise.allSettled([
        store.set('fold', record({ a: 'x'.repeat(3500) }), 60_000),
        store.patch('fold', patch({ set: { b: 'y'.repeat(700) } }), 60_000),
      ]);
      assert.equal(set.reason?.code, 'HOTSESSION_ERR_RECORD_TOO_LARGE');
      assert.equal(folded.reason?.code, 'HOTSESSION_ERR_RECORD_TOO_LARGE');
      assert.equal(await raw.exists(key('fold')), 0);
      assert.equal(store.maxRecordSize, 4096);
      assert.equal(make().maxRecordSize, 1_048_576, 'default 1 MiB');
      for (const bad of [0, 1023, 1.5, 2 ** 30, '1mb']) assert.throws(() => make({ maxRecordSize: bad }), { code: 'HOTSESSION_ERR_OPTIONS' });
    });

    test('a patch that is not a PATCH is refused with a coded error', async () => {
      const store = make();
      await store.set('p', record({ a: 1 }), 60_000);
      await assert.rejects(store.patch('p', record({ a: 2 }), 60_000), { code: 'HOTSESSION_ERR_ENCODE' });
      const broken = patch({ set: { a: 2 } }).subarray(0, 33);
      await assert.rejects(store.patch('p', broken, 60_000), { code: 'HOTSESSION_ERR_ENCODE' });
      assert.deepEqual(keysOf(await store.get('p')), ['a']);
    });

    test('pending counts what waits for Redis and drops to 0 once it answered', async () => {
      const store = make();
      const ops = Array.from({ length: 30 }, (_, i) => store.set(`pend${i}`, record({ i }), 60_000));
      const reads = Array.from({ length: 10 }, (_, i) => store.get(`pend${i}`));
      assert.equal(store.pending, 30, 'queued writes (reads are counted once sent)');
      await new Promise((r) => setImmediate(r));
      assert.ok(store.pending >= 30, `sent, not answered yet: ${store.pending}`);
      await Promise.all([...ops, ...reads]);
      assert.equal(store.pending, 0);
    });
  });
}
