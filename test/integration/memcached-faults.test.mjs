// A memcached of the test's own that is stopped, frozen and restarted under
// a live node:http server: requests fail fast with 503 while it is gone,
// never hang past the store's timeout, never crash the process, and work
// again once it is back, without restarting the app.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { MemcachedStore } from 'hotsession/memcached';
import { startHttp } from '../helpers/http-harness.mjs';
import { Jar, request } from '../helpers/jar.mjs';
import { memcachedBinary, startMemcached, freePort } from '../helpers/memcached-procs.mjs';

const skip = memcachedBinary();
const TIMEOUT = 400;
// A bound on "fails quickly": generous for a loaded machine, far below a hang.
const BOUND = TIMEOUT + 4000;

const timed = async (fn) => {
  const t0 = Date.now();
  const value = await fn();
  return { value, ms: Date.now() - t0 };
};

describe('MemcachedStore faults on a real memcached', { skip: skip?.reason ?? false }, () => {
  let mc;
  let store;
  let srv;
  const errors = [];
  before(async () => {
    mc = await startMemcached();
    store = new MemcachedStore({ servers: mc.servers, prefix: 'fault:', timeout: TIMEOUT, maxPending: 50 });
    srv = await startHttp([{ name: 'sid', store }], { secret: 'faults', onError: (err) => errors.push(err) });
  });
  after(async () => {
    await srv?.close();
    await store?.close();
    await mc?.destroy();
  });

  test('stopped: 503 at once, the process stays up; restarted: sessions work again', async () => {
    const jar = new Jar();
    assert.equal((await request(srv.url, '/set?user=ada', jar)).status, 200);
    assert.equal((await request(srv.url, '/get?k=user', jar)).body.value, 'ada');

    await mc.stop();
    errors.length = 0;
    for (const path of ['/get?k=user', '/set?user=bob', '/all']) {
      const { value: r, ms } = await timed(() => request(srv.url, path, jar));
      assert.equal(r.status, 503, `${path} while memcached is down`);
      assert.doesNotMatch(String(r.body), /ECONN|memcached|MemJS/i, 'the store error stays out of the body');
      assert.ok(ms < BOUND, `${path} answered in ${ms} ms`);
    }
    // A request without a cookie needs no store read and writes nothing: it still works.
    assert.equal((await request(srv.url, '/get?k=x', new Jar())).status, 200);
    assert.ok(errors.length >= 3 && errors.every((e) => typeof e.code === 'string' && e.code.startsWith('HOTSESSION_ERR_')), 'coded store errors reach onError');

    await mc.restart();
    // memcached lost everything: the old cookie opens a fresh session, and new ones persist.
    const after = await request(srv.url, '/all', jar);
    assert.equal(after.status, 200);
    assert.equal(after.body.isNew, true);
    const jar2 = new Jar();
    assert.equal((await request(srv.url, '/set?user=cy', jar2)).status, 200);
    assert.equal((await request(srv.url, '/get?k=user', jar2)).body.value, 'cy');
  });

  test('frozen (connection open, no answers): requests fail with a timeout, then recover when it resumes', async () => {
    const jar = new Jar();
    await request(srv.url, '/set?user=dee', jar);
    await mc.pause();
    try {
      const { value: results, ms } = await timed(() => Promise.all([
        request(srv.url, '/get?k=user', jar),
        request(srv.url, '/set?x=1', new Jar()),
        request(srv.url, '/all', jar),
      ]));
      assert.deepEqual(results.map((r) => r.status), [503, 503, 503]);
      assert.ok(ms < BOUND, `frozen server answered in ${ms} ms`);
      const direct = await store.get('some-id-that-is-long-enough').catch((e) => e);
      assert.equal(direct.code, 'HOTSESSION_ERR_STORE_TIMEOUT');
    } finally {
      mc.resume();
    }
    // The first requests after the thaw must not be failed by stale deadlines of the frozen ones.
    for (let i = 0; i < 3; i++) {
      const r = await request(srv.url, '/get?k=user', jar);
      assert.equal(r.status, 200);
      assert.equal(r.body.value, 'dee');
    }
  });

  test('killed with requests in flight: every request settles, then the restarted server serves', async () => {
    const jars = Array.from({ length: 40 }, () => new Jar());
    await Promise.all(jars.map((j, i) => request(srv.url, `/set?n=${i}`, j)));
    const inflight = Promise.all(jars.map((j) => request(srv.url, '/set?more=1', j).then((r) => r.status)));
    setImmediate(() => mc.stop());
    const { value: statuses, ms } = await timed(() => inflight);
    assert.ok(statuses.every((s) => s === 200 || s === 503), `statuses ${statuses}`);
    assert.ok(ms < BOUND, `in-flight requests settled in ${ms} ms`);
    await mc.restart();
    const jar = new Jar();
    for (let i = 0; i < 3; i++) {
      assert.equal((await request(srv.url, `/set?i=${i}`, jar)).status, 200);
      assert.equal((await request(srv.url, '/get?k=i', jar)).body.value, String(i));
    }
  });

  test('bounded queue: past maxPending, writes fail at once with QUEUE_FULL', async () => {
    await mc.pause();
    try {
      const rec = new Uint8Array([0x68, 1, 0, 0]);
      const results = await Promise.allSettled(Array.from({ length: 80 }, (_, i) => store.set(`queue-id-${i}-xxxxxxxxxxxxxxxx`, rec, 60_000)));
      const codes = results.map((r) => r.reason?.code);
      assert.equal(codes.filter((c) => c === 'HOTSESSION_ERR_QUEUE_FULL').length, 30);
      assert.equal(codes.filter((c) => c === 'HOTSESSION_ERR_STORE_TIMEOUT').length, 50);
      assert.equal(store.pending, 0, 'nothing left queued after the timeout');
    } finally {
      mc.resume();
    }
    await store.set('after-queue-xxxxxxxxxxxxxxxxxxxxx', new Uint8Array([0x68]), 60_000);
  });

  test('a server that never existed: connection refused fails fast', async () => {
    const port = await freePort();
    const s = new MemcachedStore({ servers: `127.0.0.1:${port}`, timeout: 2000 });
    try {
      const { value: err, ms } = await timed(() => s.get('x'.repeat(32)).catch((e) => e));
      assert.equal(err.code, 'HOTSESSION_ERR_STORE');
      assert.match(String(err.cause?.message ?? err.cause), /ECONNREFUSED/);
      assert.ok(ms < 2000, `refused in ${ms} ms (under the 2000 ms timeout)`);
      const w = await s.set('x'.repeat(32), new Uint8Array([0x68]), 1000).catch((e) => e);
      assert.equal(w.code, 'HOTSESSION_ERR_STORE');
    } finally {
      await s.close();
    }
  });
});
