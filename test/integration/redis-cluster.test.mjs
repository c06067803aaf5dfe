// RedisStore on a real 3-master Redis Cluster started here: the conformance
// suite, batches whose ids land on every slot owner without a CROSSSLOT
// (or "same slots allocation group") error, and patch/forward (a script call
// per key, or WATCH/MULTI per slot without scripts) checked as on a
// standalone server.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { RedisStore, keySlot } from 'hotsession/redis';
import { conformance } from '../helpers/conformance.mjs';
import { rawCommand, redisBinaries, startCluster } from '../helpers/redis-procs.mjs';
import {
  checkParity, concurrentKeys, destroyRace, forwardRace, patch, prng, randomPatch, randomStored, record, upgradeOldRecords,
} from '../helpers/redis-patch.mjs';

const skip = redisBinaries('redis-server', 'redis-cli');
let cluster = null;
let startError = null;
if (!skip) {
  try {
    cluster = await startCluster(3);
  } catch (err) {
    startError = err;
  }
}
const reason = skip?.reason ?? false;
const run = randomBytes(6).toString('hex');
let n = 0;
const clients = [];

function clusterClient() {
  const c = new Redis.Cluster(cluster.nodes, { redisOptions: { maxRetriesPerRequest: 1 } });
  c.on('error', () => {});
  clients.push(c);
  return c;
}

after(async () => {
  for (const c of clients) c.disconnect();
  await cluster?.stop();
});

test('the cluster started', { skip: reason }, () => {
  assert.equal(startError, null, startError?.stack);
});

conformance('RedisStore (3-node Redis Cluster) over node:http', {
  skip: skip ?? (startError ? { reason: 'cluster did not start' } : undefined),
  makeStore: () => new RedisStore({ client: clusterClient(), prefix: `sess:test:${run}:${n++}:` }),
});

describe('RedisStore batches across cluster slots', { skip: reason || (startError ? 'cluster did not start' : false) }, () => {
  let store;
  let client;
  before(async () => {
    client = clusterClient();
    // The slot table is read below: wait until the client has loaded it.
    await client.ping();
    store = new RedisStore({ client, prefix: `sess:test:${run}:x:` });
  });
  after(async () => {
    await store.close();
  });

  test('our slot function agrees with CLUSTER KEYSLOT', async () => {
    const port = cluster.nodes[0].port;
    for (const key of ['foo', 'sess:abc', 'sess:{tag}:x', 'sess:{}:x', 'sé:ü{€}', `sess:test:${run}:x:${'A'.repeat(32)}`]) {
      const reply = await rawCommand(port, `CLUSTER KEYSLOT "${key}"`);
      assert.equal(keySlot(key), Number(reply.slice(1)), key);
    }
  });

  test('one batch of ids on every node succeeds (writes, reads, destroys)', async () => {
    const ids = Array.from({ length: 300 }, () => randomBytes(24).toString('base64url'));
    const owners = new Set(ids.map((id) => client.slots[keySlot(`sess:test:${run}:x:${id}`)]?.join()));
    assert.ok(owners.size >= 3, `ids spread over ${owners.size} nodes`);
    const values = ids.map((id) => Buffer.concat([Buffer.from([0x68]), Buffer.from(id)]));
    await Promise.all(ids.map((id, i) => store.set(id, values[i], 60_000)));
    const got = await Promise.all(ids.map((id) => store.get(id)));
    assert.deepEqual(got, values);
    await Promise.all(ids.map((id, i) => (i % 2 ? store.destroy(id) : store.touch(id, 120_000))));
    const after = await Promise.all(ids.map((id) => store.get(id)));
    assert.deepEqual(after, values.map((v, i) => (i % 2 ? null : v)));
  });

  test('a hash-tagged prefix keeps every session in one slot', async () => {
    const tagged = new RedisStore({ client, prefix: `sess:{${run}}:` });
    const ids = Array.from({ length: 20 }, (_, i) => `tagged${i}`);
    await Promise.all(ids.map((id) => tagged.set(id, Buffer.from('h1'), 60_000)));
    assert.equal(new Set(ids.map((id) => keySlot(`sess:{${run}}:${id}`))).size, 1);
    assert.deepEqual(await Promise.all(ids.map((id) => tagged.get(id))), ids.map(() => Buffer.from('h1')));
    await tagged.close();
  });
});

for (const scripts of [true, false]) {
  describe(`RedisStore patch and forward on the cluster (scripts: ${scripts})`, { skip: reason || (startError ? 'cluster did not start' : false) }, () => {
    let raw;
    const stores = [];
    const prefix = `sess:test:${run}:p${scripts ? 's' : 'w'}:`;
    const key = (id) => prefix + id;
    const make = (opts = {}) => {
      const store = new RedisStore({ client: clusterClient(), prefix, scripts, ...opts });
      stores.push(store);
      return store;
    };
    before(() => {
      raw = clusterClient();
    });
    after(async () => {
      for (const s of stores) await s.close();
    });

    test('patches give what codec.apply gives (ids on every node, one batch)', async () => {
      const store = make({ maxRecordSize: 2048 });
      for (let seed = 1; seed <= 3; seed++) {
        const rnd = prng(seed * 104729 + (scripts ? 0 : 1));
        const cases = Array.from({ length: 40 }, () => ({ cur: randomStored(rnd, seed === 2 ? 400 : 40), p: randomPatch(rnd, seed === 2 ? 400 : 40) }));
        await checkParity({ store, raw, key, cases, together: true, seed });
      }
    });

    for (const n of [20, 200]) {
      test(`${n} concurrent patches on one session from 4 clients keep all ${n} keys`, async () => {
        await concurrentKeys({ stores: [make(), make(), make(), make()], raw, key, id: `many${n}`, n, seed: n });
      });
    }

    test('a logout racing 20 in-flight patches leaves no record', async () => {
      const three = [make(), make(), make()];
      for (let round = 0; round < 2; round++) await destroyRace({ stores: three, raw, key, id: `logout${round}`, seed: round + 5 });
    });

    test('a forward racing 20 in-flight patches: each lands before it or is redirected', async () => {
      const three = [make(), make(), make()];
      for (let round = 0; round < 2; round++) await forwardRace({ stores: three, raw, key, id: `regen${round}`, seed: round + 5 });
    });

    test('v1 frames and connect-redis records are read, then replaced by the CLEAR patch', async () => {
      await upgradeOldRecords({ store: make({ legacy: 'read' }), raw, key, id: 'old' });
    });

    test('a batch mixing patches, sets, touches and destroys on every node', async () => {
      const store = make();
      const ids = Array.from({ length: 60 }, (_, i) => `mix${i}-${randomBytes(6).toString('hex')}`);
      await Promise.all(ids.map((id) => store.set(id, record({ a: 1 }), 60_000)));
      const results = await Promise.all(ids.map((id, i) => [
        () => store.patch(id, patch({ set: { b: i } }), 60_000),
        () => store.set(id, record({ c: i }), 60_000),
        () => store.touch(id, 90_000),
        () => store.destroy(id),
      ][i % 4]()));
      for (let i = 0; i < ids.length; i++) {
        const got = await store.get(ids[i]);
        if (i % 4 === 0) assert.equal(results[i], 'ok');
        assert.deepEqual(got, [record({ a: 1, b: i }), record({ c: i }), record({ a: 1 }), null][i % 4], `op ${i % 4}`);
        await raw.del(key(ids[i]));
      }
    });
  });
}
