// Moving a live app between express-session and hotsession/express: cookies
// already in browsers and records already in the store keep working, both
// ways, with the same secret and store (express-session's MemoryStore,
// connect-redis on node-redis, a hotsession RedisStore with or without
// legacy reads, and a hotsession RedisStore shared through toExpressStore).
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import session, { toExpressStore } from 'hotsession/express';
import { backend, REDIS_URL } from '../helpers/backends.mjs';
import { dropRedisPrefix } from '../helpers/cleanup.mjs';

const require = createRequire(import.meta.url);
const express = require('express');
const expressSession = require('express-session');
const signature = require('cookie-signature');

const redisSkip = await backend('redis');
const SECRET = 'the secret both stacks share';
const tag = randomBytes(5).toString('hex');
const cleanups = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
  if (!redisSkip) await dropRedisPrefix(REDIS_URL, `hs:mig:${tag}:`);
});

/** An app with `mw`: /login writes a session, /me reads it, /count changes it. */
async function app(mw) {
  const a = express();
  a.use(mw);
  a.get('/login', (req, res) => {
    req.session.user = req.query.user ?? 'ann';
    req.session.roles = ['admin'];
    req.session.since = new Date('2025-01-02T03:04:05.000Z');
    res.json({ id: req.sessionID });
  });
  a.get('/me', (req, res) => res.json({ id: req.sessionID, user: req.session.user ?? null, roles: req.session.roles ?? null, since: req.session.since ?? null }));
  a.get('/count', (req, res) => {
    req.session.count = (req.session.count ?? 0) + 1;
    res.json({ count: req.session.count });
  });
  const server = http.createServer(a);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => new Promise((r) => server.close(r)));
  const base = `http://127.0.0.1:${server.address().port}`;
  return async (path, cookie) => {
    const res = await fetch(base + path, { headers: cookie ? { cookie } : {} });
    const set = res.headers.getSetCookie().find((c) => c.startsWith('connect.sid='));
    return { json: await res.json(), cookie: set?.split(';')[0] ?? cookie };
  };
}

const opts = (store) => ({ store, secret: SECRET, resave: false, saveUninitialized: false, cookie: { maxAge: 3_600_000 } });

/** Logs in on `from`; `to` must see the same user under the same id, and both keep writing it. */
async function move(from, to) {
  const login = await from('/login?user=migrated');
  assert.deepEqual((await to('/me', login.cookie)).json, {
    id: login.json.id, user: 'migrated', roles: ['admin'], since: '2025-01-02T03:04:05.000Z',
  });
  assert.equal((await to('/count', login.cookie)).json.count, 1);
  assert.equal((await from('/count', login.cookie)).json.count, 2);
  assert.equal((await to('/count', login.cookie)).json.count, 3);
}

async function nodeRedis() {
  const { createClient } = require('redis');
  const client = createClient({ url: REDIS_URL });
  client.on('error', () => {});
  await client.connect();
  cleanups.push(() => client.close());
  return client;
}

async function hotRedis(prefix, extra = {}) {
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

describe('express-session <-> hotsession/express', () => {
  test("express-session's MemoryStore, shared, both directions", async () => {
    const store = new expressSession.MemoryStore();
    const old = await app(expressSession(opts(store)));
    const hot = await app(session(opts(store)));
    await move(old, hot);
    await move(hot, old);
  });

  test('the cookie hotsession/express writes is the one express-session writes', async () => {
    const get = await app(session(opts(new expressSession.MemoryStore())));
    const login = await get('/login');
    assert.equal(decodeURIComponent(login.cookie.slice('connect.sid='.length)), 's:' + signature.sign(login.json.id, SECRET));
  });

  test('connect-redis (node-redis client), both directions', { skip: redisSkip?.reason ?? false }, async () => {
    const { RedisStore } = require('connect-redis');
    const client = await nodeRedis();
    const prefix = `hs:mig:${tag}:cr:`;
    const old = await app(expressSession(opts(new RedisStore({ client, prefix }))));
    const hot = await app(session(opts(new RedisStore({ client, prefix }))));
    await move(old, hot);
    await move(hot, old);
  });

  test('connect-redis records, read by hotsession/express on a hotsession RedisStore', { skip: redisSkip?.reason ?? false }, async () => {
    const { RedisStore: ConnectRedis } = require('connect-redis');
    const prefix = `hs:mig:${tag}:hot:`;
    const old = await app(expressSession(opts(new ConnectRedis({ client: await nodeRedis(), prefix }))));
    for (const extra of [{}, { legacy: 'read' }]) {
      const hot = await app(session(opts(await hotRedis(prefix, extra))));
      const login = await old('/login?user=migrated');
      const me = (await hot('/me', login.cookie)).json;
      assert.deepEqual(me, { id: login.json.id, user: 'migrated', roles: ['admin'], since: '2025-01-02T03:04:05.000Z' }, JSON.stringify(extra));
      assert.equal((await hot('/count', login.cookie)).json.count, 1);
      assert.equal((await hot('/count', login.cookie)).json.count, 2, 'rewritten as a hotsession frame and read back');
    }
  });

  test('a hotsession RedisStore shared through toExpressStore, both directions', { skip: redisSkip?.reason ?? false }, async () => {
    const store = await hotRedis(`hs:mig:${tag}:shared:`);
    const old = await app(expressSession(opts(toExpressStore(store))));
    const hot = await app(session(opts(store)));
    await move(old, hot);
    await move(hot, old);
  });
});
