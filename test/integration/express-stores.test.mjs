// Stores with hotsession/express: express-session's third-party stores
// (connect-redis with node-redis, connect-mongo on FerretDB, connect-memcached,
// memorystore), hotsession stores passed as `store`, and toExpressStore() under
// the real express-session (moving live sessions: express-migration.test.mjs).
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import session, { toExpressStore, isHotsessionStore } from 'hotsession/express';
import { MemoryStore as HotMemoryStore } from 'hotsession';
import { backend, REDIS_URL, MONGODB_URL, MEMCACHED_SERVERS } from '../helpers/backends.mjs';
import { dropMemcachedPrefix, dropRedisPrefix } from '../helpers/cleanup.mjs';

const require = createRequire(import.meta.url);
const express = require('express');
const expressSession = require('express-session');

const redisSkip = await backend('redis');
const mongoSkip = await backend('mongo');
const memcachedSkip = await backend('memcached');
const SECRET = 'a shared secret';
const tag = randomBytes(5).toString('hex');

const cleanups = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
  if (!redisSkip) await dropRedisPrefix(REDIS_URL, `hs:express:${tag}:`);
  if (!memcachedSkip) await dropMemcachedPrefix(MEMCACHED_SERVERS, `hs_express_${tag}_`);
});

/** An Express 5 app on 127.0.0.1:0 with `mw` and routes that exercise a session; returns a request function. */
async function app(mw) {
  const a = express();
  a.use(mw);
  a.get('/login', (req, res) => {
    req.session.user = req.query.user ?? 'ann';
    req.session.roles = ['admin'];
    req.session.when = new Date('2025-01-02T03:04:05.000Z');
    res.json({ id: req.sessionID });
  });
  a.get('/me', (req, res) => {
    const when = req.session.when;
    res.json({ id: req.sessionID, user: req.session.user ?? null, roles: req.session.roles ?? null, when: when instanceof Date ? 'Date' : typeof when });
  });
  a.get('/count', (req, res) => {
    req.session.count = (req.session.count ?? 0) + 1;
    res.json({ count: req.session.count });
  });
  a.get('/rotate', (req, res, next) => {
    const user = req.session.user;
    req.session.regenerate((err) => {
      if (err) return next(err);
      req.session.user = user;
      res.json({ id: req.sessionID });
    });
  });
  a.get('/logout', (req, res, next) => req.session.destroy((err) => (err ? next(err) : res.json({ ok: true }))));
  const server = http.createServer(a);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => new Promise((r) => server.close(r)));
  const base = `http://127.0.0.1:${server.address().port}`;
  return async (path, cookie) => {
    const res = await fetch(base + path, { headers: cookie ? { cookie } : {} });
    const set = res.headers.getSetCookie().find((c) => c.startsWith('connect.sid='));
    return { status: res.status, json: res.status === 200 ? await res.json() : null, cookie: set?.split(';')[0] ?? cookie };
  };
}

const opts = (store, extra = {}) => ({ store, secret: SECRET, resave: false, saveUninitialized: false, cookie: { maxAge: 3_600_000 }, ...extra });

/** Login, read back, count, rotate the id, log out: the life of a session on one stack. */
async function lifecycle(get, { dates = 'string' } = {}) {
  const login = await get('/login');
  assert.equal(login.status, 200);
  const me = await get('/me', login.cookie);
  assert.deepEqual(me.json, { id: login.json.id, user: 'ann', roles: ['admin'], when: dates });
  assert.equal((await get('/count', login.cookie)).json.count, 1);
  assert.equal((await get('/count', login.cookie)).json.count, 2);
  const rotated = await get('/rotate', login.cookie);
  assert.notEqual(rotated.json.id, login.json.id);
  assert.equal((await get('/me', login.cookie)).json.user, null, 'the old id is gone');
  assert.equal((await get('/me', rotated.cookie)).json.user, 'ann');
  await get('/logout', rotated.cookie);
  assert.equal((await get('/me', rotated.cookie)).json.user, null);
}

async function nodeRedisClient() {
  const { createClient } = require('redis');
  const client = createClient({ url: REDIS_URL });
  client.on('error', () => {});
  await client.connect();
  cleanups.push(() => client.close());
  return client;
}

async function ioredisStore(prefix, extra = {}) {
  const Redis = require('ioredis');
  const { RedisStore } = require('hotsession/redis');
  const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  const store = new RedisStore({ client, prefix, ...extra });
  cleanups.push(async () => {
    await store.close();
    client.disconnect();
  });
  return store;
}

describe('express-session stores under hotsession/express', () => {
  test('connect-redis 9 with a node-redis client', { skip: redisSkip?.reason ?? false }, async () => {
    const { RedisStore } = require('connect-redis');
    const store = new RedisStore({ client: await nodeRedisClient(), prefix: `hs:express:${tag}:cr:` });
    await lifecycle(await app(session(opts(store))));
  });

  test('connect-mongo 5 on the MongoDB wire (FerretDB)', { skip: mongoSkip?.reason ?? false }, async () => {
    const MongoStore = require('connect-mongo');
    const store = (MongoStore.default ?? MongoStore).create({ mongoUrl: MONGODB_URL, dbName: `hs_express_${tag}`, autoRemove: 'disabled' });
    cleanups.push(async () => {
      const client = await store.clientP;
      await client.db(`hs_express_${tag}`).dropDatabase().catch(() => {});
      await store.close();
    });
    await lifecycle(await app(session(opts(store))));
  });

  test('connect-memcached', { skip: memcachedSkip?.reason ?? false }, async () => {
    const MemcachedStore = require('connect-memcached')(session);
    const store = new MemcachedStore({ hosts: MEMCACHED_SERVERS.split(','), prefix: `hs_express_${tag}_` });
    cleanups.push(() => store.client.end());
    await lifecycle(await app(session(opts(store))));
  });

  test('memorystore', async () => {
    const MemoryStore = require('memorystore')(session);
    const store = new MemoryStore({ checkPeriod: 3_600_000 });
    cleanups.push(() => store.stopInterval());
    await lifecycle(await app(session(opts(store))));
  });
});

describe('hotsession stores as `store`', () => {
  test('a hotsession MemoryStore is recognised and bridged (JSON: a Date comes back as a string)', async () => {
    const hot = new HotMemoryStore();
    cleanups.push(() => hot.close());
    assert.equal(isHotsessionStore(hot), true);
    assert.equal(isHotsessionStore(new session.MemoryStore()), false);
    await lifecycle(await app(session(opts(hot))));
  });

  test("serializer: 'msgpack' keeps a Date a Date", async () => {
    const hot = new HotMemoryStore();
    cleanups.push(() => hot.close());
    await lifecycle(await app(session(opts(hot, { serializer: 'msgpack' }))), { dates: 'Date' });
  });

  test('records are hotsession frames; garbage under a valid cookie gives a fresh session', async () => {
    const hot = new HotMemoryStore();
    cleanups.push(() => hot.close());
    const get = await app(session(opts(hot)));
    const login = await get('/login');
    const record = hot.get(login.json.id);
    assert.equal(record[0], 0x68, 'framed');
    for (const junk of [Buffer.from('not a frame'), Buffer.from('{"no":"cookie"'), Buffer.from('[1,2]'), Buffer.alloc(0)]) {
      hot.set(login.json.id, junk, 60_000);
      const me = await get('/me', login.cookie);
      assert.equal(me.status, 200);
      assert.equal(me.json.user, null);
    }
  });

  test('a batching RedisStore keeps its batching: concurrent requests all land', { skip: redisSkip?.reason ?? false }, async () => {
    const store = await ioredisStore(`hs:express:${tag}:hot:`);
    const get = await app(session(opts(store)));
    const logins = await Promise.all(Array.from({ length: 40 }, (_, i) => get(`/login?user=u${i}`)));
    const reads = await Promise.all(logins.map((l) => get('/me', l.cookie)));
    reads.forEach((r, i) => assert.equal(r.json.user, `u${i}`));
    await lifecycle(get);
  });
});

describe('every hotsession backend store as `store`', () => {
  test('MemcachedStore', { skip: memcachedSkip?.reason ?? false }, async () => {
    const { MemcachedStore } = require('hotsession/memcached');
    const store = new MemcachedStore({ servers: MEMCACHED_SERVERS, prefix: `hs_express_${tag}_hot_` });
    cleanups.push(() => store.close());
    await lifecycle(await app(session(opts(store))));
  });

  test('MongoStore', { skip: mongoSkip?.reason ?? false }, async () => {
    const { MongoStore } = require('hotsession/mongo');
    const dbName = `hs_express_hot_${tag}`;
    const store = new MongoStore({ url: MONGODB_URL, dbName, collection: 'sessions' });
    cleanups.push(async () => {
      await store.close();
      const { MongoClient } = require('mongodb');
      const client = await MongoClient.connect(MONGODB_URL);
      await client.db(dbName).dropDatabase().catch(() => {});
      await client.close();
    });
    await lifecycle(await app(session(opts(store, { serializer: 'msgpack' }))), { dates: 'Date' });
  });
});

describe('toExpressStore() under the real express-session', () => {
  test('a hotsession MemoryStore serves express-session', async () => {
    const hot = new HotMemoryStore();
    cleanups.push(() => hot.close());
    await lifecycle(await app(expressSession(opts(toExpressStore(hot)))));
  });

  test('a hotsession RedisStore serves express-session', { skip: redisSkip?.reason ?? false }, async () => {
    const store = await ioredisStore(`hs:express:${tag}:toexp:`);
    await lifecycle(await app(expressSession(opts(toExpressStore(store)))));
  });
});
