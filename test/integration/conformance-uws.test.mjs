import { randomBytes, randomUUID } from 'node:crypto';
import { MemoryStore } from 'hotsession';
import { conformance } from '../helpers/conformance.mjs';
import { startUws } from '../helpers/uws-harness.mjs';
import { backend, REDIS_URL } from '../helpers/backends.mjs';
import { dropRedisPrefix } from '../helpers/cleanup.mjs';

// The same suite as over node:http, through uWebSockets.js.

conformance('MemoryStore over uWS', { makeStore: () => new MemoryStore(), harness: startUws });

async function optional(specifier) {
  try {
    return await import(specifier);
  } catch (err) {
    if (err?.code === 'ERR_PACKAGE_PATH_NOT_EXPORTED' || err?.code === 'ERR_MODULE_NOT_FOUND' || err?.code === 'MODULE_NOT_FOUND') return null;
    throw err;
  }
}

const cookie = await optional('hotsession/cookie');
conformance('CookieStore over uWS', {
  makeStore: () => new cookie.CookieStore({ keys: [randomBytes(32)] }),
  harness: startUws,
  serverSide: false,
  skip: cookie ? undefined : { reason: 'hotsession/cookie is not built yet' },
});

const redis = await optional('hotsession/redis');
const redisDown = redis ? await backend('redis') : { reason: 'hotsession/redis is not built yet' };
const clients = new Map();
conformance('RedisStore over uWS', {
  makeStore: async () => {
    const { default: Redis } = await import('ioredis');
    const client = new Redis(REDIS_URL);
    const prefix = `hs-uws-test:${randomUUID()}:`;
    const store = new redis.RedisStore({ client, prefix });
    clients.set(store, { client, prefix });
    return store;
  },
  closeStore: async (store) => {
    await store.close();
    const { client, prefix } = clients.get(store) ?? {};
    if (prefix) await dropRedisPrefix(REDIS_URL, prefix);
    if (client && client.status !== 'end') await client.quit().catch(() => client.disconnect());
  },
  harness: startUws,
  expiryMs: 400,
  skip: redisDown,
});
