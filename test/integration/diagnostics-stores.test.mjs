// #18.5: the diagnostics channels and stats() over real servers. Every
// channel is subscribed to around the operation that must publish on it,
// and each store's stats() is checked against what the test did.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import dc from 'node:diagnostics_channel';
import { randomBytes } from 'node:crypto';
import { createSessionManager, MemoryStore, channelNames } from 'hotsession';
import { RedisStore } from 'hotsession/redis';
import { MemcachedStore } from 'hotsession/memcached';
import { MongoStore } from 'hotsession/mongo';
import { CookieStore } from 'hotsession/cookie';
import { backend, REDIS_URL, MEMCACHED_SERVERS, MONGODB_URL } from '../helpers/backends.mjs';
import { startFaultProxy } from '../helpers/fault-proxy.mjs';
import { dropRedisPrefix, dropMemcachedPrefix } from '../helpers/cleanup.mjs';

const secret = 'diagnostics test secret, long enough';
const opts = { secret, cookie: { secure: false } };

/** Collects what `name` publishes while `fn` runs. */
async function collect(name, fn) {
  const got = [];
  const onMessage = (m) => got.push(m);
  dc.subscribe(name, onMessage);
  try {
    await fn();
  } finally {
    dc.unsubscribe(name, onMessage);
  }
  return got;
}

/** The Cookie header a response's Set-Cookie values make. */
function cookieOf(setCookies) {
  return setCookies.map((c) => c.split(';')[0]).join('; ');
}

test('the documented channel names', () => {
  assert.deepEqual(Object.values(channelNames).sort(), [
    'hotsession:cookie:refused', 'hotsession:session:commit', 'hotsession:session:load', 'hotsession:store:batch',
    'hotsession:store:error', 'hotsession:store:queue-full', 'hotsession:store:timeout',
  ]);
});

const mongoDb = `hotsession_test_diag_${randomBytes(4).toString('hex')}`;
const backends = [
  {
    kind: 'redis',
    prefix: `sess:test:diag:${process.pid}:`,
    make(o = {}) { return RedisStore.connect(REDIS_URL, { prefix: this.prefix, ...o }); },
    clean() { return dropRedisPrefix(REDIS_URL, this.prefix); },
  },
  {
    kind: 'memcached',
    prefix: `sess:test:diag:${process.pid}:`,
    make(o = {}) { return new MemcachedStore({ servers: MEMCACHED_SERVERS, prefix: this.prefix, ...o }); },
    clean() { return dropMemcachedPrefix(MEMCACHED_SERVERS, this.prefix); },
  },
  {
    kind: 'mongo',
    n: 0,
    make(o = {}) { return new MongoStore({ url: MONGODB_URL, dbName: mongoDb, collection: `d${this.n++}`, ...o }); },
    async clean() {
      const { MongoClient } = await import('mongodb');
      const c = new MongoClient(MONGODB_URL);
      try { await c.db(mongoDb).dropDatabase(); } finally { await c.close(); }
    },
  },
];

for (const b of backends) {
  describe(`diagnostics on ${b.kind}`, { skip: await backend(b.kind), timeout: 60_000 }, () => {
    let store, m;
    before(() => {
      store = b.make();
      m = createSessionManager('sid', store, opts);
    });
    after(async () => {
      await store.close();
      await b.clean();
    });

    test('load, commit and batch messages; stats count hits, misses and batches', async () => {
      const before = store.stats();
      let cookie;
      const commits = await collect('hotsession:session:commit', async () => {
        const s = await m.load(undefined);
        s.set('n', 1);
        cookie = cookieOf(await m.commit(s));
      });
      assert.equal(commits.length, 1);
      assert.equal(commits[0].name, 'sid');
      assert.equal(commits[0].change, 'modified');
      assert.equal(commits[0].cookies, 1);
      assert.equal(commits[0].error, undefined);
      assert.ok(commits[0].ms >= 0);
      const batches = [];
      const loads = await collect('hotsession:session:load', () => collect('hotsession:store:batch', async () => {
        const s = await m.load(cookie);
        assert.equal(s.get('n'), 1);
        s.set('n', 2);
        await m.commit(s);
      }).then((got) => batches.push(...got)));
      assert.deepEqual(loads.map((l) => [l.name, l.fresh]), [['sid', false]]);
      assert.ok(loads[0].ms >= 0);
      const kinds = batches.map((x) => `${x.store}:${x.kind}:${x.size}`);
      assert.ok(kinds.includes(`${b.kind}:read:1`), kinds.join());
      assert.ok(kinds.includes(`${b.kind}:write:1`), kinds.join());
      for (const x of batches) assert.ok(typeof x.ms === 'number' && x.ms >= 0);
      const after = store.stats();
      assert.equal(after.hits - before.hits, 1);
      assert.ok(after.batches - before.batches >= 3, JSON.stringify({ before, after }));
      assert.equal(after.pending, 0);
      assert.equal(after.errors, 0);
    });

    test('cookie:refused says why; an unknown id is a miss', async () => {
      const other = createSessionManager('sid', new MemoryStore(), opts);
      const s = other.load(undefined);
      s.set('x', 1);
      const unknown = cookieOf(other.commit(s));
      const misses = store.stats().misses;
      const got = await collect('hotsession:cookie:refused', async () => {
        assert.equal((await m.load(unknown)).isNew, true);
        const tampered = unknown.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
        assert.equal((await m.load(tampered)).isNew, true);
        // No cookie of ours at all: a new visitor, not a refusal.
        assert.equal((await m.load('other=1')).isNew, true);
      });
      assert.deepEqual(got, [{ name: 'sid', reason: 'unknown' }, { name: 'sid', reason: 'signature' }]);
      assert.equal(store.stats().misses - misses, 1);
    });

    test('queue-full: a write past maxPending is refused, published and counted', async () => {
      const small = b.make({ maxPending: 1 });
      try {
        const mm = createSessionManager('sid', small, opts);
        const a = mm.load(undefined);
        const c = mm.load(undefined);
        a.set('k', 1);
        c.set('k', 2);
        let results;
        const got = await collect('hotsession:store:queue-full', async () => {
          results = await Promise.allSettled([mm.commit(a), mm.commit(c)]);
        });
        assert.equal(results[0].status, 'fulfilled');
        assert.equal(results[1].status, 'rejected');
        assert.equal(results[1].reason.code, 'HOTSESSION_ERR_QUEUE_FULL');
        assert.equal(got.length, 1);
        assert.equal(got[0].store, b.kind);
        assert.equal(got[0].kind, 'write');
        assert.equal(got[0].error.code, 'HOTSESSION_ERR_QUEUE_FULL');
        assert.equal(small.stats().queueFull, 1);
      } finally {
        await small.close();
      }
    });
  });
}

describe('store:timeout and store:error on Redis', { skip: await backend('redis'), timeout: 60_000 }, () => {
  const prefix = `sess:test:diag-faults:${process.pid}:`;
  let proxy;
  before(async () => {
    const u = new URL(REDIS_URL);
    proxy = await startFaultProxy({ host: u.hostname, port: Number(u.port || 6379) });
  });
  after(async () => {
    await proxy.close();
    await dropRedisPrefix(REDIS_URL, prefix);
  });

  test('a black-holed read batch times out: published and counted', async () => {
    const store = RedisStore.connect(`redis://127.0.0.1:${proxy.port}`, { prefix, timeout: 200 });
    try {
      await store.get('warm-up-id-0000000000000000');
      proxy.blackhole();
      const got = await collect('hotsession:store:timeout', async () => {
        await assert.rejects(store.get('some-id-00000000000000000000'), { code: 'HOTSESSION_ERR_STORE_TIMEOUT' });
      });
      assert.equal(got.length, 1);
      assert.deepEqual([got[0].store, got[0].kind, got[0].size, got[0].error.code], ['redis', 'read', 1, 'HOTSESSION_ERR_STORE_TIMEOUT']);
      assert.equal(store.stats().timeouts, 1);
    } finally {
      proxy.pass();
      await store.close();
    }
  });

  test('a backend failure is published on store:error and counted', async () => {
    // Nothing listens on the port: ioredis fails the command (maxRetriesPerRequest: 1).
    const dead = await startFaultProxy({ host: '127.0.0.1', port: 1 });
    const port = dead.port;
    await dead.close();
    const store = RedisStore.connect(`redis://127.0.0.1:${port}`, { prefix, timeout: 5000, redis: { retryStrategy: () => null, enableOfflineQueue: true } });
    try {
      const got = await collect('hotsession:store:error', async () => {
        await assert.rejects(store.get('some-id-00000000000000000000'), { code: 'HOTSESSION_ERR_STORE' });
      });
      assert.equal(got.length, 1);
      assert.deepEqual([got[0].store, got[0].kind, got[0].error.code], ['redis', 'read', 'HOTSESSION_ERR_STORE']);
      assert.equal(store.stats().errors, 1);
    } finally {
      await store.close();
    }
  });
});

test('the cookie store: stats and refusals', async () => {
  const store = new CookieStore({ secret: 'a cookie store secret of at least thirty-two bytes!' });
  const m = createSessionManager('sid', store, opts);
  const s = m.load(undefined);
  s.set('a', 1);
  const cookie = cookieOf(m.commit(s));
  const got = [];
  const onMessage = (msg) => got.push(msg);
  dc.subscribe('hotsession:cookie:refused', onMessage);
  try {
    assert.equal(m.load(cookie).get('a'), 1);
    assert.equal(m.load(cookie.slice(0, -3)).isNew, true);
    assert.equal(m.load('x=1').isNew, true);
  } finally {
    dc.unsubscribe('hotsession:cookie:refused', onMessage);
  }
  assert.deepEqual(got, [{ name: 'sid', reason: 'unsealed' }]);
  assert.deepEqual(store.stats(), { hits: 1, misses: 1, batches: 0, errors: 0, timeouts: 0, queueFull: 0, pending: 0 });
  const big = m.load(undefined);
  big.set('b', randomBytes(6000).toString('base64'));
  await assert.rejects(Promise.resolve().then(() => m.commit(big)), { code: 'HOTSESSION_ERR_COOKIE_TOO_LARGE' });
  assert.equal(store.stats().errors, 1);
});
