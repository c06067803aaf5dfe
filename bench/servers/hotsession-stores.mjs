// Builds the hotsession store a scenario names (HS_STORE), importing each
// store's module only when asked, so a missing one skips just its rows.
import { cjs, MAX_AGE, MEMCACHED_SERVERS, MONGO_DB, MONGODB_URL, need, PREFIX, REDIS_URL, SECRET } from './common.mjs';

/**
 * @param {string} kind memory | cookie | redis | memcached | mongo
 * @returns {Promise<{ store: object, close: () => Promise<void> }>}
 */
export async function hotsessionStore(kind) {
  switch (kind) {
    case 'memory': {
      const { MemoryStore } = await need('hotsession');
      const store = new MemoryStore();
      return { store, close: () => store.close() };
    }
    case 'cookie': {
      const { CookieStore } = await need('hotsession/cookie');
      const store = new CookieStore({ secret: SECRET });
      return { store, close: () => store.close() };
    }
    case 'redis': {
      const { RedisStore } = await need('hotsession/redis');
      const Redis = cjs(await need('ioredis'));
      const client = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
      await client.connect();
      const store = new RedisStore({ client, prefix: PREFIX });
      return { store, close: async () => { await store.close(); client.disconnect(); } };
    }
    case 'memcached': {
      const { MemcachedStore } = await need('hotsession/memcached');
      const store = new MemcachedStore({ servers: MEMCACHED_SERVERS, prefix: PREFIX });
      return { store, close: () => store.close() };
    }
    case 'mongo': {
      const { MongoStore } = await need('hotsession/mongo');
      const url = new URL(MONGODB_URL);
      url.pathname = `/${MONGO_DB}`;
      // No sweeper in either Mongo stack (connect-mongo runs with autoRemove 'disabled' too): the harness drops the database.
      const store = new MongoStore({ url: url.toString(), dbName: MONGO_DB, autoRemove: 'disabled' });
      return { store, close: () => store.close() };
    }
    default:
      throw new Error(`unknown store kind ${kind}`);
  }
}

/** Session options every hotsession stack uses (the express stacks use the same values). */
export const sessionOptions = { secret: SECRET, cookie: { maxAge: MAX_AGE } };
