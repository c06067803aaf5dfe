// #14.13: one store-time budget per request. Redis behind the test's own
// delaying proxy (990 ms per reply) with the store's timeout at 1000 ms: the
// load's read takes ~990 ms, so the commit has ~10 ms left. Before the budget
// such a request answered after ~2 s (a read batch, then a write batch, each
// within its own timer); now every answer comes within timeout + 250 ms.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSessionManager } from 'hotsession';
import { RedisStore } from 'hotsession/redis';
import { backend, REDIS_URL } from '../helpers/backends.mjs';
import { startFaultProxy } from '../helpers/fault-proxy.mjs';
import { startHttp } from '../helpers/http-harness.mjs';
import { startUws } from '../helpers/uws-harness.mjs';
import { Jar, request } from '../helpers/jar.mjs';
import { dropRedisPrefix } from '../helpers/cleanup.mjs';

const skip = await backend('redis');
const TIMEOUT = 1000;
const BOUND = TIMEOUT + 250;
const DELAY = 990;
const opts = { secret: 'budget test secret, long enough to sign', cookie: { secure: false }, onError: () => {} };

for (const [label, start] of [['node:http', startHttp], ['uWS', startUws]]) {
  describe(`${label}: one store budget per request (Redis, ${DELAY} ms reply delay, timeout ${TIMEOUT})`, { skip, timeout: 60_000 }, () => {
    const prefix = `sess:test:budget:${label.replace(':', '')}:${process.pid}:`;
    let proxy, store, app;
    before(async () => {
      const u = new URL(REDIS_URL);
      proxy = await startFaultProxy({ host: u.hostname, port: Number(u.port || 6379) });
      store = RedisStore.connect(`redis://127.0.0.1:${proxy.port}`, { prefix, timeout: TIMEOUT });
      app = await start([{ name: 'sid', store }], opts);
    });
    after(async () => {
      proxy.pass();
      await app?.close();
      await store?.close();
      await proxy?.close();
      await dropRedisPrefix(REDIS_URL, prefix);
    });

    test('a read then a write: answered within timeout + 250 ms, the spent budget is a 503', async () => {
      const jar = new Jar();
      const first = await request(app.url, '/set?n=1', jar);
      assert.equal(first.status, 200);
      assert.ok(jar.header(), 'the session cookie was set');
      proxy.delay(DELAY);
      const answers = [];
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        const r = await request(app.url, `/set?n=${i + 2}`, jar);
        answers.push({ status: r.status, ms: performance.now() - t0 });
      }
      proxy.pass();
      // Replies already delayed keep their time: let them drain before the next request.
      await new Promise((r) => setTimeout(r, DELAY + 100));
      for (const a of answers) {
        assert.ok(a.ms < BOUND, `answered after ${a.ms.toFixed(0)} ms (bound ${BOUND}): ${JSON.stringify(answers)}`);
        // The read took ~990 ms of the 1000: the write cannot be acknowledged in the rest.
        assert.equal(a.status, 503, JSON.stringify(answers));
      }
      // Fast again: the same session answers (Redis may have applied the writes the requests gave up on).
      const back = await request(app.url, '/get?k=n', jar);
      assert.equal(back.status, 200);
      assert.ok(['1', '2', '3', '4'].includes(back.body.value), JSON.stringify(back.body));
    });

    test('a read-only request with a slow read answers 200 (no write, nothing to time out)', async () => {
      const jar = new Jar();
      await request(app.url, '/set?k=v', jar);
      // Well within the timeout (the machine may be loaded): the point is that no write is left to fail.
      proxy.delay(DELAY - 400);
      const t0 = performance.now();
      const r = await request(app.url, '/get?k=k', jar);
      const ms = performance.now() - t0;
      proxy.pass();
      await new Promise((res) => setTimeout(res, DELAY));
      assert.equal(r.status, 200);
      assert.equal(r.body.value, 'v');
      assert.ok(ms < BOUND, `answered after ${ms.toFixed(0)} ms`);
    });
  });
}

describe('the budget counts store time only', { skip, timeout: 30_000 }, () => {
  const prefix = `sess:test:budget-handler:${process.pid}:`;
  let store;
  before(() => {
    store = RedisStore.connect(REDIS_URL, { prefix, timeout: 300 });
  });
  after(async () => {
    await store.close();
    await dropRedisPrefix(REDIS_URL, prefix);
  });

  test('a handler slower than the timeout between load and commit still commits', async () => {
    const m = createSessionManager('sid', store, opts);
    const s0 = await m.load(undefined);
    s0.set('n', 1);
    const cookie = (await m.commit(s0))[0].split(';')[0];
    const s = await m.load(cookie);
    assert.equal(s.get('n'), 1);
    // The handler's own work (a slow API call, say): longer than the store's whole timeout.
    await new Promise((r) => setTimeout(r, 500));
    s.set('n', 2);
    await m.commit(s);
    assert.equal((await m.load(cookie)).get('n'), 2);
  });
});

describe(`hotsession/express: one store budget per request (Redis, ${DELAY} ms reply delay, timeout ${TIMEOUT})`, { skip, timeout: 60_000 }, () => {
  const prefix = `sess:test:budget:express:${process.pid}:`;
  let proxy, store, get;
  before(async () => {
    const { default: express } = await import('express');
    const { default: session } = await import('hotsession/express');
    const { serve } = await import('../helpers/serve.mjs');
    const u = new URL(REDIS_URL);
    proxy = await startFaultProxy({ host: u.hostname, port: Number(u.port || 6379) });
    store = RedisStore.connect(`redis://127.0.0.1:${proxy.port}`, { prefix, timeout: TIMEOUT });
    const app = express();
    app.use(session({ secret: opts.secret, resave: false, saveUninitialized: false, store }));
    app.get('/set', (req, res) => {
      req.session.n = Number(req.query.n);
      res.send(String(req.session.n));
    });
    app.use((err, req, res, next) => res.status(err.status ?? 500).send(err.code ?? 'error'));
    get = await serve(app);
  });
  after(async () => {
    proxy.pass();
    const { closeServers } = await import('../helpers/serve.mjs');
    await closeServers();
    await store?.close();
    await proxy?.close();
    await dropRedisPrefix(REDIS_URL, prefix);
  });

  test('a read then a write: answered within timeout + 250 ms, the spent budget is a 503', async () => {
    const first = await get('/set?n=1');
    assert.equal(first.status, 200);
    proxy.delay(DELAY);
    const answers = [];
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      const r = await get(`/set?n=${i + 2}`, { cookie: first.cookie });
      answers.push({ status: r.status, body: r.body, ms: performance.now() - t0 });
    }
    proxy.pass();
    await new Promise((r) => setTimeout(r, DELAY + 100));
    for (const a of answers) {
      assert.ok(a.ms < BOUND, `answered after ${a.ms.toFixed(0)} ms (bound ${BOUND}): ${JSON.stringify(answers)}`);
      assert.equal(a.status, 503, JSON.stringify(answers));
    }
  });
});
