import { after } from 'node:test';
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { RedisStore } from 'hotsession/redis';
import { conformance } from '../helpers/conformance.mjs';
import { backend, REDIS_URL } from '../helpers/backends.mjs';
import { dropRedisPrefix } from '../helpers/cleanup.mjs';

const skip = await backend('redis');
// A prefix of its own per run and per store, so concurrent runs never collide.
const run = randomBytes(6).toString('hex');
let n = 0;
after(async () => {
  if (!skip) await dropRedisPrefix(REDIS_URL, `sess:test:${run}:`);
});

conformance('RedisStore (standalone) over node:http', {
  skip,
  makeStore: () => new RedisStore({ client: new Redis(REDIS_URL, { maxRetriesPerRequest: 1 }), prefix: `sess:test:${run}:${n++}:` }),
  closeStore: async (store) => {
    await store.close();
    await store.client.quit();
  },
});

conformance('RedisStore.connect (batch: false) over node:http', {
  skip,
  makeStore: () => RedisStore.connect(REDIS_URL, { prefix: `sess:test:${run}:${n++}:`, batch: false }),
});

// Servers that forbid Lua: every batch as single-key commands in one socket write.
conformance('RedisStore (scripts: false) over node:http', {
  skip,
  makeStore: () => RedisStore.connect(REDIS_URL, { prefix: `sess:test:${run}:${n++}:`, scripts: false }),
});
