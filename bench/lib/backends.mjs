// Which backends answer, and cleaning up what a run left in them.
import { createRequire } from 'node:module';
import net from 'node:net';

const require = createRequire(import.meta.url);

export const urls = {
  redis: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  memcached: process.env.MEMCACHED_SERVERS ?? '127.0.0.1:11211',
  mongo: process.env.MONGODB_URL ?? 'mongodb://127.0.0.1:27017',
};

function hostPort(url, port) {
  const u = new URL(url.includes('://') ? url : `x://${url}`);
  return [u.hostname, Number(u.port || port)];
}

function reachable(host, port, timeout = 700) {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (ok) => { s.destroy(); resolve(ok); };
    s.setTimeout(timeout, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** Resolves to null when `name` answers, else to the reason its rows are skipped. */
export async function probe(name) {
  const [host, port] = name === 'redis' ? hostPort(urls.redis, 6379)
    : name === 'memcached' ? hostPort(urls.memcached.split(',')[0], 11211)
    : hostPort(urls.mongo, 27017);
  return (await reachable(host, port)) ? null : `${name} not reachable at ${host}:${port} (npm run services)`;
}

/** Deletes every Redis key under `prefix` (SCAN, never KEYS). */
export async function cleanRedis(prefix) {
  const Redis = require('ioredis');
  const client = new Redis(urls.redis, { lazyConnect: true, maxRetriesPerRequest: 1 });
  let deleted = 0;
  try {
    await client.connect();
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await client.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
  return deleted;
}

/** Drops the run's MongoDB database. */
export async function dropMongo(dbName) {
  const { MongoClient } = require('mongodb');
  const client = new MongoClient(urls.mongo, { serverSelectionTimeoutMS: 2000 });
  try {
    await client.connect();
    await client.db(dbName).dropDatabase();
  } finally {
    await client.close();
  }
}

/**
 * Deletes the given memcached keys (memcached cannot list keys by prefix,
 * so the harness remembers the sessions it created).
 */
export async function cleanMemcached(keys) {
  const memjs = require('memjs');
  const client = memjs.Client.create(urls.memcached, { retries: 0, timeout: 2 });
  let deleted = 0;
  try {
    for (let i = 0; i < keys.length; i += 100) {
      const done = await Promise.all(keys.slice(i, i + 100).map((k) => client.delete(k).catch(() => false)));
      deleted += done.filter(Boolean).length;
    }
  } finally {
    client.quit();
  }
  return deleted;
}
