// hotsession/express's error path: a failed save answers through it before
// anything is sent (#14.10), store errors carry status 503 (#14.11), and a
// throw during the end-of-request work answers 500 instead of leaving the
// socket open (#14.6). Real servers on 127.0.0.1:0; the failing store is
// hotsession's own MemoryStore with its writes switched off, and RedisStore
// on a stopped ioredis client.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import session, { MemoryStore as ExpressMemoryStore } from 'hotsession/express';
import { MemoryStore } from 'hotsession';
import { backend, REDIS_URL } from '../helpers/backends.mjs';
import { closeServers, serve } from '../helpers/serve.mjs';
import { dropRedisPrefix } from '../helpers/cleanup.mjs';

const require = createRequire(import.meta.url);
const expresses = { 4: require('express4'), 5: require('express') };
const redisSkip = await backend('redis');

const redisPrefix = `hs:express-errors:${process.pid}:`;

after(closeServers);
// The load-error test first saves a session through a live client: its keys go with the run.
after(() => (redisSkip ? undefined : dropRedisPrefix(REDIS_URL, redisPrefix)));

/** hotsession's MemoryStore whose writes fail while `failing` is set (as a backend refusing writes would). */
class FailingStore extends MemoryStore {
  failing = false;
  #refuse() {
    return Promise.reject(Object.assign(new Error('writes refused'), { code: 'EREFUSED' }));
  }
  set(...args) {
    return this.failing ? this.#refuse() : super.set(...args);
  }
  patch(...args) {
    return this.failing ? this.#refuse() : super.patch(...args);
  }
  touch(...args) {
    return this.failing ? this.#refuse() : super.touch(...args);
  }
}

/** An Express app on `store`; `errors` collects what reached the error handler. */
function app(express, store, routes, { errorHandler = true } = {}) {
  const errors = [];
  const a = express();
  a.use(session({ secret: 'k', resave: false, saveUninitialized: false, store }));
  routes(a);
  if (errorHandler) {
    a.use((err, req, res, next) => {
      errors.push(err);
      next(err);
    });
  }
  return { app: a, errors };
}

for (const [major, express] of Object.entries(expresses)) {
  describe(`Express ${major}: store failures`, () => {
    test('a save that failed before anything was sent answers 503 through the error path, without the session cookie', async () => {
      const store = new FailingStore();
      const { app: a, errors } = app(express, store, (r) => {
        r.get('/login', (req, res) => {
          req.session.user = 'ann';
          res.send('logged in');
        });
        r.get('/json', (req, res) => {
          req.session.n = 1;
          res.json({ ok: true });
        });
      });
      const get = await serve(a);
      store.failing = true;
      for (const path of ['/login', '/json']) {
        const r = await get(path);
        assert.equal(r.status, 503, `${path}: ${r.body}`);
        assert.equal(r.cookie, undefined, `${path}: no cookie for a session that was never stored`);
        assert.doesNotMatch(r.body, /logged in|"ok"/);
      }
      assert.equal(errors.length, 2);
      for (const err of errors) {
        assert.equal(err.status, 503);
        assert.equal(err.statusCode, 503);
        assert.equal(err.message, 'writes refused');
      }
      // The store healed: the same route succeeds and the session is kept.
      store.failing = false;
      const ok = await get('/login');
      assert.equal(ok.status, 200);
      assert.equal(ok.body, 'logged in');
      assert.ok(ok.cookie);
    });

    test('a response that streamed before end completes; the error follows with status 503', async () => {
      const store = new FailingStore();
      const { app: a, errors } = app(express, store, (r) => {
        r.get('/stream', (req, res) => {
          req.session.n = 1;
          res.write('part ');
          res.end('done');
        });
      });
      const get = await serve(a);
      store.failing = true;
      const r = await get('/stream').catch((err) => ({ status: 0, body: String(err) }));
      // Express's final handler closes a connection whose response already started.
      assert.ok(r.status === 200 || r.status === 0, `status ${r.status}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(errors.length, 1);
      assert.equal(errors[0].status, 503);
    });

    test('a cookie that cannot be serialized answers 500 through the error path, with nothing stored', async () => {
      const store = new FailingStore();
      const { app: a, errors } = app(express, store, (r) => {
        r.get('/', (req, res) => {
          req.session.n = 1;
          req.session.cookie.domain = 'not a domain;';
          res.send('ok');
        });
      });
      const get = await serve(a);
      const r = await get('/');
      assert.equal(r.status, 500);
      assert.equal(r.cookie, undefined);
      assert.equal(errors.length, 1);
      assert.equal(errors[0].message, 'option domain is invalid');
      assert.equal(store.size, 0, 'nothing stored');
    });

    test('a store error on load carries status 503', { skip: redisSkip?.reason ?? false }, async () => {
      const Redis = require('ioredis');
      const { RedisStore } = require('hotsession/redis');
      const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, lazyConnect: true });
      const store = new RedisStore({ client, prefix: redisPrefix });
      const { app: a, errors } = app(express, store, (r) => {
        r.get('/', (req, res) => {
          req.session.n = (req.session.n ?? 0) + 1;
          res.send(String(req.session.n));
        });
      });
      const get = await serve(a);
      const first = await get('/');
      assert.equal(first.status, 200);
      await store.close();
      client.disconnect();
      const again = await get('/', { cookie: first.cookie });
      assert.equal(again.status, 503);
      assert.equal(errors.length, 1);
      assert.equal(errors[0].status, 503);
    });
  });

  describe(`Express ${major}: a handler that breaks the session gets 500, never a hung socket`, () => {
    const breakers = {
      'req.session.cookie replaced': (req) => {
        req.session.cookie = 'x';
      },
      'req.session.save replaced': (req) => {
        req.session.n = 1;
        req.session.save = 'x';
      },
      'an own __proto__ assigned onto the session': (req) => {
        Object.assign(req.session, JSON.parse('{"__proto__": {"a": 1}, "b": 2}'));
      },
      'a value 10,000 levels deep': (req) => {
        let v = {};
        for (let i = 0; i < 10_000; i++) v = { v };
        req.session.deep = v;
      },
    };
    const stores = { 'hotsession/express MemoryStore': () => new ExpressMemoryStore(), 'hotsession MemoryStore': () => new MemoryStore() };
    for (const [storeName, store] of Object.entries(stores)) {
      for (const [name, breakIt] of Object.entries(breakers)) {
        test(`${name} (${storeName})`, async () => {
          const { app: a, errors } = app(express, store(), (r) => {
            r.get('/sync', (req, res) => {
              breakIt(req);
              res.send('ok');
            });
            // `end` called from a callback: a throw out of it would be an uncaught exception.
            r.get('/later', (req, res) => {
              breakIt(req);
              setImmediate(() => res.send('ok'));
            });
          });
          const get = await serve(a);
          for (const path of ['/sync', '/later']) {
            const r = await get(path, { headers: { connection: 'close' } });
            assert.equal(r.status, 500, `${path}: ${r.status} ${r.body}`);
          }
          assert.equal(errors.length, 2);
          for (const err of errors) assert.equal(err.status, 500);
        });
      }
    }
  });
}
