// Redis goes away and comes back: requests fail fast with 503, the process
// stays up, the write queue stays bounded, and the store recovers without a
// restart. Runs against its own redis-server, killed and restarted here.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import Redis from 'ioredis';
import { RedisStore } from 'hotsession/redis';
import { startHttp } from '../helpers/http-harness.mjs';
import { Jar, request } from '../helpers/jar.mjs';
import { redisBinaries, startRedis } from '../helpers/redis-procs.mjs';
import { concurrentKeys, keysOf, patch, record } from '../helpers/redis-patch.mjs';

const skip = redisBinaries('redis-server');
const SECRET = 'fault secret';

async function timed(fn) {
  const t0 = performance.now();
  const r = await fn();
  return { r, ms: performance.now() - t0 };
}

describe('RedisStore when Redis dies and comes back', { skip: skip?.reason ?? false }, () => {
  let redis;
  const clients = [];
  const stores = {};
  const servers = {};
  before(async () => {
    redis = await startRedis();
    // Two clients: the recommended setting, and ioredis' defaults (20
    // retries, offline queue on), where only the store's timeout bounds a request.
    const tuned = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    const defaults = new Redis(redis.url);
    for (const c of [tuned, defaults]) {
      c.on('error', () => {}); // connection errors are expected here
      clients.push(c);
    }
    stores.tuned = new RedisStore({ client: tuned, prefix: 'sess:faults:a:', timeout: 500 });
    stores.defaults = new RedisStore({ client: defaults, prefix: 'sess:faults:b:' });
    for (const [k, store] of Object.entries(stores)) servers[k] = await startHttp([{ name: 'sid', store }], { secret: SECRET });
  });
  after(async () => {
    for (const s of Object.values(servers)) await s.close();
    for (const s of Object.values(stores)) await s.close().catch(() => {});
    for (const c of clients) c.disconnect();
    await redis?.destroy();
  });

  test('up: sessions work', async () => {
    for (const srv of Object.values(servers)) {
      const jar = new Jar();
      assert.equal((await request(srv.url, '/set?user=ada', jar)).status, 200);
      assert.deepEqual((await request(srv.url, '/get?k=user', jar)).body, { value: 'ada' });
    }
  });

  test('down: loads and saves answer 503 quickly, the process stays up', async () => {
    const jars = {};
    for (const [k, srv] of Object.entries(servers)) {
      jars[k] = new Jar();
      await request(srv.url, '/set?user=bob', jars[k]);
    }
    await redis.stop();
    for (const [k, srv] of Object.entries(servers)) {
      for (let i = 0; i < 3; i++) {
        // A load with a cookie needs the store: it fails before the handler.
        const load = await timed(() => request(srv.url, '/get?k=user', jars[k]));
        assert.equal(load.r.status, 503, `${k}: load`);
        assert.ok(load.ms < 1500, `${k}: a failed load took ${load.ms.toFixed(0)} ms`);
        // A fresh session's save fails when the response ends: no cookie is handed out.
        const save = await timed(() => request(srv.url, '/set?x=1', new Jar()));
        assert.equal(save.r.status, 503, `${k}: save`);
        assert.equal(save.r.setCookie.length, 0, `${k}: no cookie for a session that was not saved`);
        assert.ok(save.ms < 1500, `${k}: a failed save took ${save.ms.toFixed(0)} ms`);
      }
    }
  });

  test('down: the write queue is bounded and says so', async () => {
    const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    client.on('error', () => {});
    clients.push(client);
    const store = new RedisStore({ client, prefix: 'sess:faults:q:', maxPending: 8, maxBatch: 4, timeout: 300 });
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => store.set(`id${i}`, Buffer.from('hx'), 10_000)));
    const codes = results.map((r) => r.reason?.code);
    assert.equal(codes.filter((c) => c === 'HOTSESSION_ERR_QUEUE_FULL').length, 12, codes.join());
    assert.ok(codes.every((c) => c === 'HOTSESSION_ERR_QUEUE_FULL' || c === 'HOTSESSION_ERR_STORE_TIMEOUT' || c === 'HOTSESSION_ERR_STORE'), codes.join());
    await store.close();
  });

  test('back: the same stores work again without a restart', async () => {
    await redis.restart();
    for (const [k, srv] of Object.entries(servers)) {
      const jar = new Jar();
      const until = Date.now() + 15_000;
      let status = 0;
      while (Date.now() < until) {
        status = (await request(srv.url, '/set?user=carol', jar)).status;
        if (status === 200) break;
        await sleep(100);
      }
      assert.equal(status, 200, `${k}: recovered`);
      assert.deepEqual((await request(srv.url, '/get?k=user', jar)).body, { value: 'carol' });
    }
  });
});

/** Calls of `cmd` the server has counted (INFO commandstats), 0 if none. */
async function calls(client, cmd) {
  const m = new RegExp(`^cmdstat_${cmd}:calls=(\\d+)`, 'm').exec(await client.info('commandstats'));
  return m ? Number(m[1]) : 0;
}

// Each write batch goes as one script call (the default on a standalone
// server) or as single commands (scripts: false); a refused write must fail
// only its own save either way.
for (const scripts of [true, false]) {
  describe(`RedisStore when Redis refuses some writes of a batch (scripts: ${scripts})`, { skip: skip?.reason ?? false }, () => {
    let redis;
    let client;
    let store;
    before(async () => {
      // Out of memory with noeviction: SET is refused (OOM), DEL and PEXPIRE are not.
      redis = await startRedis({ args: ['--maxmemory', '3mb', '--maxmemory-policy', 'noeviction'] });
      client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
      store = new RedisStore({ client, prefix: 'sess:oom:', scripts });
    });
    after(async () => {
      await store?.close();
      client?.disconnect();
      await redis?.destroy();
    });

    test('a refused write rejects only its own operation', async () => {
      await store.set('keep', Buffer.from('h-keep'), 60_000);
      await store.set('gone', Buffer.from('h-gone'), 60_000);
      await store.set('keep2', Buffer.from('h-keep2'), 60_000);
      await store.set('gone2', Buffer.from('h-gone2'), 60_000);
      await store.set('rec', record({ a: 1 }), 60_000);
      const filler = Buffer.alloc(64 * 1024, 1);
      for (let i = 0; i < 200; i++) {
        const r = await client.set(`fill:${i}`, filler).catch((err) => err);
        if (r instanceof Error) break;
      }
      // A large value is refused while memory is at the limit (its own bytes count).
      await assert.rejects(client.set('probe', filler), /OOM/, 'the server is out of memory now');
      const evals = await calls(client, 'eval') + await calls(client, 'evalsha');
      const [set, touch, destroy] = await Promise.allSettled([
        store.set('new', filler, 60_000),
        store.touch('keep', 120_000),
        store.destroy('gone'),
      ]);
      assert.equal(set.status, 'rejected');
      assert.equal(set.reason.code, 'HOTSESSION_ERR_STORE');
      assert.match(set.reason.cause?.message ?? '', /OOM/);
      assert.equal(touch.status, 'fulfilled');
      assert.equal(destroy.status, 'fulfilled');
      assert.ok((await client.pttl('sess:oom:keep')) > 60_000, 'the touch in the same batch applied');
      assert.equal(await client.exists('sess:oom:gone'), 0, 'the destroy in the same batch applied');
      // Writes that free or keep memory first, then the save: the save is
      // still refused (a script may not grow memory past maxmemory once it wrote).
      const [destroy2, touch2, set2] = await Promise.allSettled([
        store.destroy('gone2'),
        store.touch('keep2', 120_000),
        store.set('new2', filler, 60_000),
      ]);
      assert.equal(destroy2.status, 'fulfilled');
      assert.equal(touch2.status, 'fulfilled');
      assert.equal(set2.status, 'rejected');
      assert.match(set2.reason.cause?.message ?? '', /OOM/);
      assert.equal(await client.exists('sess:oom:new2'), 0);
      assert.equal(await client.exists('sess:oom:gone2'), 0);
      assert.ok((await client.pttl('sess:oom:keep2')) > 60_000);
      const used = await calls(client, 'eval') + await calls(client, 'evalsha') - evals;
      assert.equal(used, scripts ? 2 : 0, 'one script call per batch, none with scripts: false');
      // A patch that grows the record is refused like a SET; a destroy beside it still applies.
      const [grown, gone] = await Promise.allSettled([
        store.patch('rec', patch({ set: { big: filler.toString('latin1') } }), 60_000),
        store.destroy('keep'),
      ]);
      assert.equal(grown.status, 'rejected');
      assert.match(grown.reason.cause?.message ?? '', /OOM/);
      assert.deepEqual(keysOf(await client.getBuffer('sess:oom:rec')), ['a'], 'the record is unchanged');
      assert.equal(gone.status, 'fulfilled');
      assert.equal(await client.exists('sess:oom:keep'), 0);
    });
  });
}

describe('RedisStore write scripts on a server that lost or refuses them', { skip: skip?.reason ?? false }, () => {
  let redis;
  const clients = [];
  const stores = [];
  const ids = Array.from({ length: 5 }, (_, i) => `s${i}`);
  const value = (id) => Buffer.from(`h-${id}`);
  const client = (opts) => {
    const c = new Redis(redis.url, { maxRetriesPerRequest: 1, ...opts });
    clients.push(c);
    return c;
  };
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    for (const s of stores) await s.close().catch(() => {});
    for (const c of clients) c.disconnect();
    await redis?.destroy();
  });

  test('after SCRIPT FLUSH (or a restart, a failover) the batch is resent with the script', async () => {
    const c = client();
    const store = new RedisStore({ client: c, prefix: 'sess:flush:' });
    stores.push(store);
    await Promise.all(ids.map((id) => store.set(id, value(id), 60_000)));
    await Promise.all(ids.map((id) => store.set(id, value(`${id}b`), 60_000)));
    assert.ok(await calls(c, 'evalsha') >= 1, 'the second batch went by sha');
    await c.script('FLUSH');
    await Promise.all([...ids.map((id) => store.set(id, value(`${id}c`), 60_000)), store.destroy('s0')]);
    assert.deepEqual(await c.mgetBuffer(ids.map((id) => `sess:flush:${id}`)), [null, ...ids.slice(1).map((id) => value(`${id}c`))]);
    // Patches need the script too: after a flush they are resent with it, and apply once.
    await Promise.all(ids.map((id) => store.set(id, record({ a: 1 }), 60_000)));
    await c.script('FLUSH');
    assert.deepEqual(await Promise.all(ids.map((id) => store.patch(id, patch({ set: { b: 2 } }), 60_000))), ids.map(() => 'ok'));
    await c.script('FLUSH');
    assert.equal(await store.patch('s1', patch({ set: { c: 3 } }), 60_000), 'ok', 'a single patch too');
    for (const id of ids) assert.deepEqual(keysOf(await store.get(id)), id === 's1' ? ['a', 'b', 'c'] : ['a', 'b']);
  });

  test('a user who may not run scripts gets single commands, and every save succeeds', async () => {
    const admin = client();
    await admin.acl('SETUSER', 'noscripts', 'on', '>pw', '~*', '&*', '+@all', '-@scripting');
    const c = client({ username: 'noscripts', password: 'pw' });
    const store = new RedisStore({ client: c, prefix: 'sess:acl:' });
    stores.push(store);
    for (let round = 0; round < 2; round++) {
      await Promise.all(ids.map((id) => store.set(id, value(`${id}${round}`), 60_000)));
      assert.deepEqual(await admin.mgetBuffer(ids.map((id) => `sess:acl:${id}`)), ids.map((id) => value(`${id}${round}`)));
    }
    await Promise.all([store.touch('s1', 120_000), store.destroy('s2')]);
    assert.ok((await admin.pttl('sess:acl:s1')) > 60_000);
    assert.equal(await admin.exists('sess:acl:s2'), 0);
  });

  test('without scripts, patches are WATCH/MULTI transactions: still atomic across clients', async () => {
    const admin = client();
    await admin.acl('SETUSER', 'noscripts2', 'on', '>pw', '~*', '&*', '+@all', '-@scripting');
    const fresh = () => {
      const s = new RedisStore({ client: client({ username: 'noscripts2', password: 'pw' }), prefix: 'sess:acl2:' });
      stores.push(s);
      return s;
    };
    const four = [fresh(), fresh(), fresh(), fresh()];
    // The first patch finds out that scripts are refused and is resent as a transaction.
    await four[0].set('seed', record({ a: 1 }), 60_000);
    assert.equal(await four[0].patch('seed', patch({ set: { b: 2 } }), 60_000), 'ok');
    assert.deepEqual(keysOf(await admin.getBuffer('sess:acl2:seed')), ['a', 'b']);
    const scripted = async () => await calls(admin, 'eval') + await calls(admin, 'evalsha');
    const [execs, evals] = [await calls(admin, 'exec'), await scripted()];
    await concurrentKeys({ stores: four, raw: admin, key: (id) => `sess:acl2:${id}`, id: 'many', n: 50, seed: 3 });
    assert.ok(await calls(admin, 'exec') > execs, 'the patches went as transactions');
    assert.equal(await scripted(), evals, 'and no script ran');
  });
});
