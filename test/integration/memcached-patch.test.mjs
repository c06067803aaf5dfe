// MemcachedStore.patch / .forward: the shared contract on the shared
// memcached (a prefix of its own, several store instances with their own
// connections), then what is memcached's own: the compare-and-swap costs,
// bounded retries against a writer that always wins, a server without CAS
// (-C), record size limits, and connect-memcached records upgraded by a
// CLEAR patch. Servers of the tests' own where a test needs to count or
// break something.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import memjs from 'memjs';
import { MemcachedStore } from 'hotsession/memcached';
import { backend, MEMCACHED_SERVERS } from '../helpers/backends.mjs';
import { memcachedBinary, startCasThief, startMemcached, stats, freePort } from '../helpers/memcached-procs.mjs';
import { asMap, marker, newId, patch, patchContract, record, valueOf } from '../helpers/patch-contract.mjs';

const skip = await backend('memcached');
const run = randomBytes(6).toString('hex');
const TTL = 60_000;

patchContract('MemcachedStore (shared memcached, 4 instances)', {
  skip,
  makeStore: () => new MemcachedStore({ servers: MEMCACHED_SERVERS, prefix: `sess:patch:${run}:` }),
});

patchContract('MemcachedStore (casCache: 0, batch: false)', {
  skip,
  makeStore: () => new MemcachedStore({ servers: MEMCACHED_SERVERS, prefix: `sess:patch0:${run}:`, casCache: 0, batch: false }),
});

describe('MemcachedStore patches on a memcached of its own', { skip: memcachedBinary()?.reason ?? false }, () => {
  let mc;
  const closers = [];
  const store = (o = {}) => {
    const s = new MemcachedStore({ servers: mc.servers, prefix: 'p:', ...o });
    closers.push(() => s.close());
    return s;
  };
  const counts = async () => {
    const s = await stats(mc.port);
    return { get: Number(s.cmd_get), set: Number(s.cmd_set), casMisses: Number(s.cas_misses), casBadval: Number(s.cas_badval) };
  };
  before(async () => {
    mc = await startMemcached();
  });
  after(async () => {
    for (const c of closers.reverse()) await c();
    await mc?.destroy();
  });

  test('the patch after a load is one compare-and-swap (the CAS of the read is remembered); without the cache a get and a swap', async () => {
    for (const [casCache, gets] of [[4096, 0], [0, 1]]) {
      const s = store({ casCache });
      const id = newId();
      await s.set(id, record({ n: 0 }), TTL);
      await s.get(id);
      const c0 = await counts();
      assert.equal(await s.patch(id, patch({ set: { n: 1 } }), TTL), 'ok');
      const c1 = await counts();
      assert.deepEqual([c1.get - c0.get, c1.set - c0.set], [gets, 1], `casCache ${casCache}: gets and sets for one patch`);
      assert.equal(valueOf(await s.get(id), 'n'), 1);
    }
  });

  test('a remembered CAS another process made stale costs a fresh read, not an error', async () => {
    const mine = store();
    const other = store();
    const id = newId();
    await mine.set(id, record({ n: 0 }), TTL);
    await mine.get(id);
    assert.equal(await other.patch(id, patch({ set: { theirs: 1 } }), TTL), 'ok');
    const c0 = await counts();
    assert.equal(await mine.patch(id, patch({ set: { mine: 1 } }), TTL), 'ok');
    const c1 = await counts();
    assert.equal(c1.casBadval - c0.casBadval, 1, 'the remembered CAS was refused once');
    const got = asMap(await mine.get(id));
    assert.ok(got.entries.has('theirs') && got.entries.has('mine'), 'both writes kept');
  });

  test('a writer that always wins the race: bounded retries, then HOTSESSION_ERR_CONFLICT and nothing written', async () => {
    const thief = await startCasThief(mc.port);
    closers.push(() => thief.close());
    const s = store({ servers: thief.servers, timeout: 5000 });
    const direct = store();
    const id = newId();
    await direct.set(id, record({ n: 0 }), TTL);
    const t0 = Date.now();
    const err = await s.patch(id, patch({ set: { n: 1 } }), TTL).then(() => null, (e) => e);
    assert.equal(err?.code, 'HOTSESSION_ERR_CONFLICT');
    assert.ok(thief.thefts() >= 10, `every swap was raced (${thief.thefts()})`);
    assert.ok(Date.now() - t0 < 5000, 'the retries end well within the timeout');
    assert.equal(valueOf(await direct.get(id), 'n'), 0, 'the patch wrote nothing');
    // A forward is a swap as well.
    assert.equal((await s.forward(id, marker(newId()), 5000).catch((e) => e)).code, 'HOTSESSION_ERR_CONFLICT');
    assert.equal(valueOf(await direct.get(id), 'n'), 0);
  });

  test('a memcached without CAS (-C): patches fail with a coded error instead of writing unconditionally', async () => {
    const noCas = await startMemcached({ args: ['-C'] });
    closers.push(() => noCas.destroy());
    const s = new MemcachedStore({ servers: noCas.servers, prefix: 'c:' });
    closers.push(() => s.close());
    const id = newId();
    await s.set(id, record({ n: 0 }), TTL);
    const err = await s.patch(id, patch({ set: { n: 1 } }), TTL).catch((e) => e);
    assert.equal(err.code, 'HOTSESSION_ERR_STORE');
    assert.match(err.message, /-C/);
    assert.equal(valueOf(await s.get(id), 'n'), 0);
  });

  test('maxRecordSize: a set or a patch over it fails before anything is sent; so does a patch whose record would be', async () => {
    const offline = new MemcachedStore({ servers: `127.0.0.1:${await freePort()}`, maxRecordSize: 4096 });
    closers.push(() => offline.close());
    assert.equal(offline.maxRecordSize, 4096);
    const big = record({ blob: 'x'.repeat(5000) });
    assert.equal((await offline.set(newId(), big, TTL).catch((e) => e)).code, 'HOTSESSION_ERR_RECORD_TOO_LARGE', 'refused before connecting');
    assert.equal((await offline.patch(newId(), patch({ set: { blob: 'x'.repeat(5000) } }), TTL).catch((e) => e)).code, 'HOTSESSION_ERR_RECORD_TOO_LARGE');
    const s = store({ maxRecordSize: 4096 });
    const id = newId();
    await s.set(id, record({ a: 'x'.repeat(2500) }), TTL);
    const err = await s.patch(id, patch({ set: { b: 'y'.repeat(2500) } }), TTL).catch((e) => e);
    assert.equal(err.code, 'HOTSESSION_ERR_RECORD_TOO_LARGE');
    assert.deepEqual([...asMap(await s.get(id)).entries.keys()], ['a'], 'the record is left as it was');
    assert.equal(await s.patch(id, patch({ set: { b: 'y' } }), TTL), 'ok');
  });

  test('maxRecordSize defaults to what maxValueSize leaves and cannot exceed it', () => {
    assert.equal(new MemcachedStore({ servers: mc.servers }).maxRecordSize, 1_048_576 - 5 - 32 - 64);
    assert.equal(new MemcachedStore({ servers: mc.servers, prefix: 'abc:', maxValueSize: 2_097_152 }).maxRecordSize, 2_097_152 - 4 - 32 - 64);
    for (const o of [{ maxRecordSize: 2_000_000 }, { maxRecordSize: 10 }, { maxRecordSize: 1.5 }, { casCache: -1 }]) {
      assert.throws(() => new MemcachedStore({ servers: mc.servers, ...o }), { code: 'HOTSESSION_ERR_OPTIONS' }, JSON.stringify(o));
    }
  });

  test('connect-memcached JSON (legacy: read): stale to a plain patch, upgraded by a CLEAR patch', async () => {
    const s = store({ legacy: 'read' });
    const raw = memjs.Client.create(mc.servers, { retries: 0, logger: { log() {} } });
    closers.push(() => raw.close());
    const id = newId();
    const json = JSON.stringify({ cookie: { expires: new Date(Date.now() + TTL).toISOString() }, user: 'ada', roles: ['admin'] });
    await raw.set('p:' + id, Buffer.from(json), { expires: 60 });
    assert.deepEqual((await s.get(id)).data, { user: 'ada', roles: ['admin'] });
    assert.equal(await s.patch(id, patch({ set: { n: 1 } }), TTL), 'stale');
    assert.equal((await raw.get('p:' + id)).value.toString(), json, 'untouched');
    assert.equal(await s.patch(id, patch({ set: { user: 'ada', roles: ['admin'], n: 1 }, clear: true }), TTL), 'ok');
    const now = await s.get(id);
    assert.deepEqual([valueOf(now, 'user'), valueOf(now, 'roles'), valueOf(now, 'n')], ['ada', ['admin'], 1]);
    // Without legacy: 'read' the JSON is no session to this store: a patch finds nothing to apply to.
    const plain = store();
    const id2 = newId();
    await raw.set('p:' + id2, Buffer.from(json), { expires: 60 });
    assert.equal(await plain.patch(id2, patch({ set: { n: 1 }, clear: true }), TTL), 'gone');
    assert.equal((await raw.get('p:' + id2)).value.toString(), json);
  });

  test('legacy records follow the one rule: __proto__, constructor, prototype dropped at any depth, too-deep values dropped', async () => {
    const s = store({ legacy: 'read' });
    const raw = memjs.Client.create(mc.servers, { retries: 0, logger: { log() {} } });
    closers.push(() => raw.close());
    const id = newId();
    const deep = '['.repeat(70) + ']'.repeat(70);
    const json = `{"cookie":{},"__proto__":{"admin":true},"constructor":{"x":1},"prototype":2,"user":{"name":"ada","__proto__":{"admin":true},"tags":[{"constructor":1,"ok":true}]},"deep":${deep},"fine":${'['.repeat(63) + ']'.repeat(63)}}`;
    await raw.set('p:' + id, Buffer.from(json), { expires: 60 });
    const got = await s.get(id);
    assert.deepEqual(Object.keys(got.data).sort(), ['fine', 'user']);
    assert.deepEqual(got.data.user, { name: 'ada', tags: [{ ok: true }] });
    assert.equal(Object.getPrototypeOf(got.data.user), Object.prototype);
    assert.equal({}.admin, undefined);
  });
});
