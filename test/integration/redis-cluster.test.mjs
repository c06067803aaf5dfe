// RedisStore on a real 3-master Redis Cluster started here: the conformance
// suite, and batches whose ids land on every slot owner without a CROSSSLOT
// (or "same slots allocation group") error.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { RedisStore, keySlot } from 'hotsession/redis';
import { conformance } from '../helpers/conformance.mjs';
import { rawCommand, redisBinaries, startCluster } from '../helpers/redis-procs.mjs';

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
