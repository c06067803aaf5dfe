// The concurrency suite (test/helpers/concurrency.mjs) for every backend
// store: overlapping requests on one session keep every key, a logout racing
// in-flight writes stays a logout, a login racing them keeps their writes in
// one live session, old records are read and rewritten.
import { after } from 'node:test';
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { MongoClient } from 'mongodb';
import { RedisStore } from 'hotsession/redis';
import { MemcachedStore } from 'hotsession/memcached';
import { MongoStore } from 'hotsession/mongo';
import { concurrency } from '../helpers/concurrency.mjs';
import { startUws } from '../helpers/uws-harness.mjs';
import { backend, MEMCACHED_SERVERS, MONGODB_URL, REDIS_URL } from '../helpers/backends.mjs';
import { dropMemcachedPrefix, dropRedisPrefix } from '../helpers/cleanup.mjs';

const run = randomBytes(6).toString('hex');
let n = 0;

const redisSkip = await backend('redis');
after(async () => {
  if (!redisSkip) await dropRedisPrefix(REDIS_URL, `sess:test:cc:${run}:`);
});
const redis = (extra = {}) => () => {
  const prefix = `sess:test:cc:${run}:${n++}:`;
  return Object.assign(RedisStore.connect(REDIS_URL, { prefix, ...extra }), { testPrefix: prefix });
};
// connect-redis JSON under the same prefix, read through `legacy: 'read'`.
const redisLegacy = {
  makeStore: redis({ legacy: 'read' }),
  plant: (store, id, data, ttl) => store.client.set(store.testPrefix + id, JSON.stringify({ cookie: { path: '/' }, ...data }), 'PX', ttl),
};
concurrency('RedisStore over node:http', { skip: redisSkip, makeStore: redis(), legacy: redisLegacy });
concurrency('RedisStore over uWS', { skip: redisSkip, makeStore: redis(), harness: startUws });
concurrency('RedisStore (scripts: false) over node:http', { skip: redisSkip, makeStore: redis({ scripts: false }) });

const memSkip = await backend('memcached');
after(async () => {
  if (!memSkip) await dropMemcachedPrefix(MEMCACHED_SERVERS, `sess:test:cc:${run}:`);
});
concurrency('MemcachedStore over node:http', {
  skip: memSkip,
  makeStore: () => new MemcachedStore({ servers: MEMCACHED_SERVERS, prefix: `sess:test:cc:${run}:${n++}:` }),
});

const mongoSkip = await backend('mongo');
const dbName = `hotsession_cc_${run}`;
after(async () => {
  if (mongoSkip) return;
  const c = new MongoClient(MONGODB_URL, { serverSelectionTimeoutMS: 2000 });
  try {
    await c.db(dbName).dropDatabase();
  } finally {
    await c.close();
  }
});
concurrency('MongoStore over node:http', {
  skip: mongoSkip,
  makeStore: () => new MongoStore({ url: MONGODB_URL, dbName, collection: `s${n++}` }),
});
