// Overlapping requests on one session through hotsession/express, on
// hotsession stores and the default store (#16 item 2): each request loads the session, waits until
// every one of them has loaded it, then sets its own key and answers. With
// whole-record saves all but the last write would be lost; per-key saves keep
// every key. A logout or a login (regenerate) racing such writes must leave
// the old cookie opening nothing (under express-session's own MemoryStore both
// races bring the old session back). Real servers on 127.0.0.1:0, real Redis.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import session from 'hotsession/express';
import { MemoryStore } from 'hotsession';
import { backend, REDIS_URL } from '../helpers/backends.mjs';
import { dropRedisPrefix } from '../helpers/cleanup.mjs';
import { closeServers, serve } from '../helpers/serve.mjs';

const require = createRequire(import.meta.url);
const express = require('express');
const redisSkip = await backend('redis');
const prefix = `hs:express-concurrency:${process.pid}:`;
const cleanups = [];

after(async () => {
  await closeServers();
  for (const c of cleanups) await c();
  if (!redisSkip) await dropRedisPrefix(REDIS_URL, prefix);
});

/**
 * A gate that opens once `n` requests arrived, or when `open()` is called
 * (or after 20 s, so a broken run fails instead of hanging).
 */
function gate(n = Infinity) {
  let open;
  const opened = new Promise((resolve) => { open = resolve; });
  const g = {
    arrived: 0,
    open,
    async arrive() {
      if (++g.arrived >= n) open();
      await Promise.race([opened, sleep(20_000)]);
    },
  };
  return g;
}

/** Resolves once `cond()` holds; rejects after 20 s. */
async function until(cond, what) {
  const end = Date.now() + 20_000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

const stores = {
  // No store option: session.MemoryStore, the default, is a view over the core MemoryStore (JSON values).
  'the default session.MemoryStore': { make: () => undefined, serializers: ['json'] },
  'hotsession MemoryStore': { make: () => new MemoryStore() },
  'hotsession RedisStore': {
    skip: redisSkip?.reason ?? false,
    make: () => {
      const Redis = require('ioredis');
      const { RedisStore } = require('hotsession/redis');
      const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
      const store = new RedisStore({ client, prefix });
      cleanups.push(async () => {
        await store.close();
        client.disconnect();
      });
      return store;
    },
  },
};

for (const [label, { make, skip, serializers = ['json', 'msgpack'] }] of Object.entries(stores)) {
  for (const serializer of serializers) {
    describe(`hotsession/express on ${label} (${serializer}): concurrent requests`, { skip }, () => {
      /** /hold loads the session, waits at `g`, then sets its key; /login regenerates, /logout destroys. */
      const racingApp = (g) => {
        const app = express();
        app.use(session({ secret: 'k', resave: false, saveUninitialized: false, serializer, store: make() }));
        app.get('/login', (req, res, next) => {
          req.session.regenerate((err) => {
            if (err) return next(err);
            req.session.user = req.query.user;
            res.send(req.sessionID);
          });
        });
        app.get('/logout', (req, res, next) => req.session.destroy((err) => (err ? next(err) : res.send('bye'))));
        app.get('/hold', async (req, res) => {
          await g.arrive();
          req.session[req.query.k] = req.query.v;
          res.send('ok');
        });
        app.get('/all', (req, res) => {
          const { cookie, ...data } = req.session;
          res.json({ id: req.sessionID, data });
        });
        return app;
      };

      for (const n of [20, 200]) {
        test(`${n} concurrent requests, each setting its own key, keep all ${n} keys`, async () => {
          const get = await serve(racingApp(gate(n)));
          const { cookie } = await get('/login?user=ada');
          assert.ok(cookie);
          const answers = await Promise.all(Array.from({ length: n }, (_, i) => get(`/hold?k=k${i}&v=${i}`, { cookie })));
          assert.deepEqual(answers.map((a) => a.status), Array(n).fill(200));
          const { data } = JSON.parse((await get('/all', { cookie })).body);
          const expected = { user: 'ada' };
          for (let i = 0; i < n; i++) expected[`k${i}`] = String(i);
          assert.equal(Object.keys(data).length, n + 1, `kept ${Object.keys(data).length - 1} of ${n} keys`);
          assert.deepEqual(data, expected);
        });
      }

      test('a logout racing 20 in-flight writes leaves the session logged out', async () => {
        const g = gate();
        const get = await serve(racingApp(g));
        const { cookie } = await get('/login?user=ada');
        const writes = Array.from({ length: 20 }, (_, i) => get(`/hold?k=late${i}&v=x`, { cookie }));
        await until(() => g.arrived === 20, 'the writes to load the session');
        assert.equal((await get('/logout', { cookie })).status, 200);
        g.open();
        assert.deepEqual((await Promise.all(writes)).map((a) => a.status), Array(20).fill(200));
        const replay = JSON.parse((await get('/all', { cookie })).body);
        assert.deepEqual(replay.data, {}, 'the old cookie opens nothing: no write brought the session back');
      });

      test('a login (regenerate) racing in-flight writes leaves one live session', async () => {
        const g = gate();
        const get = await serve(racingApp(g));
        const { cookie } = await get('/login?user=guest');
        const writes = Array.from({ length: 20 }, (_, i) => get(`/hold?k=late${i}&v=x`, { cookie }));
        await until(() => g.arrived === 20, 'the writes to load the session');
        const login = await get('/login?user=ada', { cookie });
        assert.equal(login.status, 200);
        g.open();
        assert.deepEqual((await Promise.all(writes)).map((a) => a.status), Array(20).fill(200));
        // express-session's regenerate() starts an empty session under a new id: the writes that
        // loaded the old one do not follow it there, and none of them revives the old id.
        const now = JSON.parse((await get('/all', { cookie: login.cookie })).body);
        assert.equal(now.id, login.body);
        assert.deepEqual(now.data, { user: 'ada' });
        const replay = JSON.parse((await get('/all', { cookie })).body);
        assert.notEqual(replay.id, login.body);
        assert.deepEqual(replay.data, {}, 'the old id is no credential and holds no session');
      });

      test('a deleted key stays deleted and unchanged keys keep what others wrote', async () => {
        const app = express();
        app.use(session({ secret: 'k', resave: false, saveUninitialized: false, serializer, store: make() }));
        app.get('/set', (req, res) => {
          for (const [k, v] of Object.entries(req.query)) req.session[k] = v;
          res.send('ok');
        });
        app.get('/del', (req, res) => {
          delete req.session[req.query.k];
          res.send('ok');
        });
        app.get('/all', (req, res) => {
          const { cookie, ...data } = req.session;
          res.json(data);
        });
        const get = await serve(app);
        const { cookie } = await get('/set?a=1&b=2');
        await get('/del?k=a', { cookie });
        await get('/set?c=3', { cookie });
        assert.deepEqual(JSON.parse((await get('/all', { cookie })).body), { b: '2', c: '3' });
      });
    });
  }
}

describe('a save that meets another writer: the shared delivery of a patch (core/writes.ts PatchDelivery)', () => {
  /** hotsession/express and hotsession/http on one store and cookie name; /hold waits at `g` before it sets its key. */
  const pair = async (store, g) => {
    const { sessions, getSession } = require('hotsession/http');
    const app = express();
    app.use(session({ secret: 'k', resave: false, saveUninitialized: false, store }));
    app.get('/set', (req, res) => {
      req.session.init = 'yes';
      res.send(req.sessionID);
    });
    app.get('/hold', async (req, res) => {
      await g.arrive();
      req.session[req.query.k] = req.query.v;
      res.send('ok');
    });
    const mw = sessions('connect.sid', store, { secret: 'k', cookie: { secure: false } });
    const viaHttp = await serve((req, res) => mw(req, res, async () => {
      const s = getSession(req);
      if (req.url === '/regenerate') await s.regenerate();
      const data = {};
      for (const k of s.keys()) if (k !== 'cookie') data[k] = s.get(k);
      res.end(JSON.stringify({ id: s.id, data }));
    }));
    return { viaExpress: await serve(app), viaHttp };
  };

  for (const [label, make, skip] of [
    ['MemoryStore', () => new MemoryStore(), false],
    ['RedisStore', () => stores['hotsession RedisStore'].make(), redisSkip?.reason ?? false],
  ]) {
    test(`${label}: an id rewritten in an older format meanwhile gets the whole session once`, { skip }, async () => {
      const { codec } = require('../../dist/codec/index.js');
      const { encodeData } = require('../../dist/codec/msgpack.js');
      const store = make();
      const g = gate();
      const { viaExpress, viaHttp } = await pair(store, g);
      const { cookie, body: id } = await viaExpress('/set');
      const held = viaExpress('/hold?k=late&v=1', { cookie });
      await until(() => g.arrived === 1, 'the request to load the session');
      // Another writer (an older deployment) puts a v1 record there: the patch is answered 'stale'.
      await store.set(id, codec.frame(encodeData({ other: 'v1' }), 0, Date.now()), 60_000);
      g.open();
      assert.equal((await held).status, 200);
      const rec = await store.get(id);
      assert.ok(rec instanceof Uint8Array && rec[1] === 2 && rec[2] === 0, 'a v2 RECORD now');
      assert.deepEqual(JSON.parse((await viaHttp('/', { cookie })).body).data, { init: 'yes', late: '1' });
    });

    test(`${label}: a save in flight while hotsession/http regenerates the session follows it to the new id`, { skip }, async () => {
      const store = make();
      const g = gate();
      const { viaExpress, viaHttp } = await pair(store, g);
      const { cookie } = await viaExpress('/set');
      const held = viaExpress('/hold?k=late&v=1', { cookie });
      await until(() => g.arrived === 1, 'the request to load the session');
      const moved = await viaHttp('/regenerate', { cookie });
      const newCookie = moved.setCookie.find((c) => c.startsWith('connect.sid=')).split(';')[0];
      g.open();
      assert.equal((await held).status, 200);
      const now = JSON.parse((await viaHttp('/', { cookie: newCookie })).body);
      assert.equal(now.id, JSON.parse(moved.body).id);
      assert.deepEqual(now.data, { init: 'yes', late: '1' }, 'the write landed in the new session');
    });
  }
});

describe('one record format: hotsession/express and hotsession/http share sessions on one store', () => {
  test('a session hotsession/express wrote is read by hotsession/http under the same cookie name, and the other way', async () => {
    const { sessions, getSession } = require('hotsession/http');
    const store = new MemoryStore();
    const app = express();
    app.use(session({ secret: 'k', resave: false, saveUninitialized: false, store }));
    app.get('/set', (req, res) => {
      req.session.user = 'ada';
      res.send('ok');
    });
    app.get('/user', (req, res) => res.send(String(req.session.user ?? '')));
    const viaExpress = await serve(app);
    const mw = sessions('connect.sid', store, { secret: 'k', cookie: { secure: false } });
    const viaHttp = await serve((req, res) => mw(req, res, () => {
      const s = getSession(req);
      if (req.url === '/set') s.set('plan', 'pro');
      res.end(JSON.stringify({ user: s.get('user') ?? null, isNew: s.isNew }));
    }));
    const { cookie } = await viaExpress('/set');
    assert.deepEqual(JSON.parse((await viaHttp('/set', { cookie })).body), { user: 'ada', isNew: false });
    // hotsession/http patched the record: hotsession/express still reads it whole.
    assert.equal((await viaExpress('/user', { cookie })).body, 'ada');
  });
});
