// RedisStore after close(): reads and writes reject with HOTSESSION_ERR_STORE_CLOSED,
// as MemcachedStore and MongoStore do, also when the app owns the ioredis client.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import Redis from 'ioredis';
import { RedisStore } from 'hotsession/redis';
import { backend, REDIS_URL } from '../helpers/backends.mjs';

const skip = await backend('redis');

describe('RedisStore after close', { skip: skip?.reason ?? false }, () => {
  const client = skip ? null : new Redis(REDIS_URL);
  after(() => client?.quit());

  test('reads and writes reject with STORE_CLOSED on a client the app owns', async () => {
    const store = new RedisStore({ client, prefix: 'hs:closed:' });
    await store.close();
    assert.notEqual(client.status, 'end', 'the app\'s client stays open');
    await assert.rejects(store.get('x'), { code: 'HOTSESSION_ERR_STORE_CLOSED' });
    await assert.rejects(Promise.resolve().then(() => store.set('x', new Uint8Array(40), 1000)), { code: 'HOTSESSION_ERR_STORE_CLOSED' });
  });
});
