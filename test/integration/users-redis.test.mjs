// Users' sessions on Redis (issue #17): standalone with scripts, without
// scripts (MULTI and WATCH), and where the index key lives.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { createSessionManager } from 'hotsession';
import { RedisStore, keySlot } from 'hotsession/redis';
import { usersCases } from './users-cases.mjs';
import { backend, REDIS_URL } from '../helpers/backends.mjs';
import { dropRedisPrefix } from '../helpers/cleanup.mjs';

const skip = await backend('redis');
const run = randomBytes(6).toString('hex');
let n = 0;
after(async () => {
  if (!skip) await dropRedisPrefix(REDIS_URL, `sess:test:${run}:`);
});

const connect = (extra = {}) => RedisStore.connect(REDIS_URL, { prefix: `sess:test:${run}:${n++}:`, ...extra });

usersCases('users: RedisStore (scripts) over node:http', { skip, makeStore: () => connect() });
usersCases('users: RedisStore (scripts: false, MULTI/WATCH) over node:http', { skip, makeStore: () => connect({ scripts: false }) });

test('a user index is one hash-tagged key, listed without a scan, expiring after its sessions', { skip: skip?.reason ?? false }, async () => {
  const store = connect();
  const raw = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    const m = createSessionManager('sid', store, { secret: 'x', ttl: 60_000 });
    const s = await m.load(undefined);
    await s.login('ada{x}', { device: 'a' });
    await m.commit(s);
    const key = store.users.key('ada{x}');
    assert.equal(keySlot(key), keySlot('{ada{x}'), 'the user id is the hash tag');
    assert.equal(await raw.type(key), 'hash');
    const ttl = await raw.pttl(key);
    assert.ok(ttl > 60_000 && ttl <= 60_000 + 60_000 + 1000, `index ttl ${ttl}`);
    assert.equal((await m.sessionsOf('ada{x}')).length, 1);
  } finally {
    raw.disconnect();
    await store.close();
  }
});
