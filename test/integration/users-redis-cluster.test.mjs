// Users' sessions on a real 3-master Redis Cluster started here (issue #17):
// every case of users-cases.mjs, with one user's index on one slot and no
// CROSSSLOT error anywhere (sessions of one user sit on many slots).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { createSessionManager } from 'hotsession';
import { RedisStore, keySlot } from 'hotsession/redis';
import { redisBinaries, startCluster } from '../helpers/redis-procs.mjs';
import { usersCases } from './users-cases.mjs';

const missing = redisBinaries('redis-server', 'redis-cli');
let cluster = null;
let startError = null;
if (!missing) {
  try {
    cluster = await startCluster(3);
  } catch (err) {
    startError = err;
  }
}
const skip = missing ?? (startError ? { reason: 'cluster did not start' } : undefined);
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

test('the cluster started', { skip: missing?.reason ?? false }, () => {
  assert.equal(startError, null, startError?.stack);
});

const closeStore = (s) => s.close();
usersCases('users: RedisStore on a 3-node Redis Cluster', { skip, makeStore: () => new RedisStore({ client: clusterClient(), prefix: `sess:test:${run}:${n++}:` }), closeStore });
usersCases('users: RedisStore on a 3-node Redis Cluster (scripts: false)', {
  skip, makeStore: () => new RedisStore({ client: clusterClient(), prefix: `sess:test:${run}:${n++}:`, scripts: false }), closeStore,
});

test('one user, sessions on several slots, one index slot', { skip: skip?.reason ?? false }, async () => {
  const store = new RedisStore({ client: clusterClient(), prefix: `sess:test:${run}:${n++}:` });
  const m = createSessionManager('sid', store, { secret: 'x' });
  const ids = [];
  for (let i = 0; i < 6; i++) {
    const s = await m.load(undefined);
    await s.login('grace');
    await m.commit(s);
    ids.push(s.id);
  }
  const slots = new Set(ids.map((id) => keySlot(`sess:test:${run}:${n - 1}:${id}`)));
  assert.ok(slots.size > 1, 'the sessions spread over slots');
  assert.equal((await m.sessionsOf('grace')).length, 6);
  assert.equal(await m.revokeUser('grace'), 6);
  for (const id of ids) assert.equal(await store.get(id), null);
  await store.close();
});
