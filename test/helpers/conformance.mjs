// The store conformance suite: one set of behaviours every store must show
// through a real adapter over real sockets. Parameterised by store factory
// and by harness (node:http, uWS).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Jar, request } from './jar.mjs';
import { startHttp } from './http-harness.mjs';

const SECRET = 'conformance secret';

/**
 * @param {string} label
 * @param {object} o
 * @param {() => Promise<object>|object} o.makeStore   a fresh store (own namespace)
 * @param {(store) => Promise<void>} [o.closeStore]
 * @param {Function} [o.harness]   startHttp-compatible server factory
 * @param {number} [o.expiryMs]    a maxAge short enough to wait for (stores with second TTLs need >= 2000)
 * @param {boolean} [o.serverSide] records live in a backend (false for the cookie store)
 * @param {object} [o.skip]        { reason } skips the whole suite with a one-line reason
 */
export function conformance(label, o) {
  const harness = o.harness ?? startHttp;
  const expiryMs = o.expiryMs ?? 400;
  const serverSide = o.serverSide ?? true;
  describe(`conformance: ${label}`, { skip: o.skip?.reason ?? false }, () => {
    const stores = [];
    const servers = [];
    const make = async () => {
      const s = await o.makeStore();
      stores.push(s);
      return s;
    };
    const serve = async (entries, options = {}) => {
      const srv = await harness(entries, { secret: SECRET, ...options });
      servers.push(srv);
      return srv;
    };
    let store;
    let srv;
    before(async () => {
      store = await make();
      srv = await serve([{ name: 'sid', store }]);
    });
    after(async () => {
      for (const s of servers) await s.close();
      for (const s of stores) await (o.closeStore ? o.closeStore(s) : s.close());
    });

    test('set then get across requests', async () => {
      const jar = new Jar();
      const r1 = await request(srv.url, '/set?user=ada&role=admin', jar);
      assert.equal(r1.status, 200);
      assert.equal(r1.setCookie.length >= 1, true, 'a modified new session sets its cookie');
      const c = r1.setCookie[0];
      assert.equal(c.name.startsWith('sid'), true);
      assert.equal(c.attrs.httponly, true);
      assert.equal(c.attrs.samesite, 'Lax');
      assert.equal(c.attrs.path, '/');
      const r2 = await request(srv.url, '/get?k=user', jar);
      assert.deepEqual(r2.body, { value: 'ada' });
      assert.equal(r2.setCookie.length, 0, 'a read-only request writes no cookie');
      const r3 = await request(srv.url, '/all', jar);
      assert.deepEqual(r3.body.data, { user: 'ada', role: 'admin' });
      assert.equal(r3.body.isNew, false);
    });

    test('an untouched new session costs no cookie', async () => {
      const r = await request(srv.url, '/get?k=x', new Jar());
      assert.deepEqual(r.body, { value: null });
      assert.equal(r.setCookie.length, 0);
    });

    test('values keep their JSON types', async () => {
      const jar = new Jar();
      const v = { n: 1.5, list: [1, 'two', null, { deep: true }], s: 'ü€😀', t: true };
      await request(srv.url, `/set-json?k=v&v=${encodeURIComponent(JSON.stringify(v))}`, jar);
      const r = await request(srv.url, '/get?k=v', jar);
      assert.deepEqual(r.body.value, v);
    });

    test('delete a key', async () => {
      const jar = new Jar();
      await request(srv.url, '/set?a=1&b=2', jar);
      await request(srv.url, '/del?k=a', jar);
      const r = await request(srv.url, '/all', jar);
      assert.deepEqual(r.body.data, { b: '2' });
    });

    test('flashes are read once', async () => {
      const jar = new Jar();
      await request(srv.url, '/flash?v=one', jar);
      await request(srv.url, '/flash?v=two', jar);
      const r1 = await request(srv.url, '/flashes', jar);
      assert.deepEqual(r1.body.flashes, ['one', 'two']);
      const r2 = await request(srv.url, '/flashes', jar);
      assert.deepEqual(r2.body.flashes, []);
    });

    test('clear removes every key', async () => {
      const jar = new Jar();
      await request(srv.url, '/set?a=1&b=2', jar);
      await request(srv.url, '/clear', jar);
      const r = await request(srv.url, '/all', jar);
      assert.deepEqual(r.body.data, {});
    });

    test('cookie options: path, domain, max-age', async () => {
      const jar = new Jar();
      const r = await request(srv.url, '/opts?maxAge=60000&path=/app&domain=example.com&k=a&v=1', jar);
      const c = r.setCookie[0];
      assert.equal(c.attrs.path, '/app');
      assert.equal(c.attrs.domain, 'example.com');
      assert.ok(c.maxAge >= 59 && c.maxAge <= 60, `max-age ${c.maxAge}`);
      assert.ok(typeof c.attrs.expires === 'string');
    });

    test('a negative maxAge deletes the session now', async () => {
      const jar = new Jar();
      await request(srv.url, '/set?a=1', jar);
      const old = jar.header();
      const r = await request(srv.url, '/opts?maxAge=-1', jar);
      assert.equal(r.setCookie.length >= 1, true);
      assert.equal(r.setCookie[0].maxAge, 0, 'cookie cleared');
      if (serverSide) {
        const replay = await request(srv.url, '/all', null, { headers: { cookie: old } });
        assert.deepEqual(replay.body.data, {}, 'record destroyed: the old cookie opens nothing');
        assert.equal(replay.body.isNew, true);
      }
    });

    test('an explicit save() sets the cookie and persists', async () => {
      const jar = new Jar();
      const r = await request(srv.url, '/save?k=x&v=saved', jar);
      assert.equal(r.setCookie.length, 1, 'one cookie, not one per commit');
      const r2 = await request(srv.url, '/get?k=x', jar);
      assert.equal(r2.body.value, 'saved');
    });

    test('two named sessions in one store (sessionsMany)', async () => {
      const s2 = await serve([{ name: 'a', store }, { name: 'b', store }]);
      const jar = new Jar();
      const r = await request(s2.url, '/many-set?a=left&b=right', jar);
      assert.deepEqual(r.setCookie.map((c) => c.name.replace(/\.\d+$/, '')).sort(), ['a', 'b']);
      const r2 = await request(s2.url, '/many-get', jar);
      assert.deepEqual(r2.body, { a: 'left', b: 'right' });
    });

    test('two sessions in two stores (sessionsManyStores)', async () => {
      const other = await make();
      const s2 = await serve([{ name: 'a', store }, { name: 'b', store: other }]);
      const jar = new Jar();
      await request(s2.url, '/many-set?a=one&b=two', jar);
      const r = await request(s2.url, '/many-get', jar);
      assert.deepEqual(r.body, { a: 'one', b: 'two' });
    });

    test('a session past its maxAge is gone', async () => {
      const s2 = await serve([{ name: 'sid', store }], { cookie: { maxAge: expiryMs } });
      const jar = new Jar();
      await request(s2.url, '/set?a=1', jar);
      assert.deepEqual((await request(s2.url, '/get?k=a', jar)).body, { value: '1' });
      await sleep(expiryMs + 1100);
      const r = await request(s2.url, '/all', jar);
      assert.deepEqual(r.body.data, {});
      assert.equal(r.body.isNew, true);
    });

    test('rolling re-sends the cookie on read-only requests; non-rolling does not', async () => {
      const rolling = await serve([{ name: 'sid', store }], { rolling: true, cookie: { maxAge: 60_000 } });
      const jar = new Jar();
      await request(rolling.url, '/set?a=1', jar);
      const r = await request(rolling.url, '/get?k=a', jar);
      assert.equal(r.body.value, '1');
      assert.equal(r.setCookie.length >= 1, true);
      const fixed = await serve([{ name: 'sid', store }], { cookie: { maxAge: 60_000 } });
      const jar2 = new Jar();
      await request(fixed.url, '/set?a=1', jar2);
      const r2 = await request(fixed.url, '/get?k=a', jar2);
      assert.equal(r2.setCookie.length, 0);
    });

    test('absoluteTimeout ends an active session', async () => {
      const s2 = await serve([{ name: 'sid', store }], { rolling: true, absoluteTimeout: expiryMs + 300 });
      const jar = new Jar();
      await request(s2.url, '/set?a=1', jar);
      await sleep(150);
      assert.equal((await request(s2.url, '/get?k=a', jar)).body.value, '1');
      await sleep(expiryMs + 1100);
      const r = await request(s2.url, '/all', jar);
      assert.deepEqual(r.body.data, {});
    });

    test('regenerate keeps data and changes the id; the old id is dead', async () => {
      const jar = new Jar();
      await request(srv.url, '/set?user=bob', jar);
      const before = (await request(srv.url, '/id', jar)).body.id;
      const old = jar.header();
      const r = await request(srv.url, '/regenerate', jar);
      assert.equal(r.body.before, before);
      assert.notEqual(r.body.after, before);
      const after = await request(srv.url, '/all', jar);
      assert.equal(after.body.id, r.body.after);
      assert.deepEqual(after.body.data, { user: 'bob' });
      if (serverSide) {
        const replay = await request(srv.url, '/all', null, { headers: { cookie: old } });
        assert.deepEqual(replay.body.data, {});
        assert.notEqual(replay.body.id, before);
      }
    });

    test('destroy removes the data and clears the cookie', async () => {
      const jar = new Jar();
      await request(srv.url, '/set?user=eve', jar);
      const old = jar.header();
      const r = await request(srv.url, '/destroy', jar);
      assert.equal(r.setCookie.some((c) => c.maxAge === 0), true, 'cookie cleared');
      const after = await request(srv.url, '/all', jar);
      assert.deepEqual(after.body.data, {});
      if (serverSide) {
        const replay = await request(srv.url, '/all', null, { headers: { cookie: old } });
        assert.deepEqual(replay.body.data, {});
      }
    });

    describe('bad cookies give a fresh session', () => {
      let good;
      let goodId;
      before(async () => {
        const jar = new Jar();
        await request(srv.url, '/set?secret=1', jar);
        good = [...jar.cookies][0];
        goodId = (await request(srv.url, '/id', jar)).body.id;
      });
      const fresh = async (cookie) => {
        const r = await request(srv.url, '/all', null, { headers: { cookie } });
        assert.equal(r.status, 200);
        assert.deepEqual(r.body.data, {});
        assert.equal(r.body.isNew, true);
        assert.notEqual(r.body.id, goodId);
        return r;
      };
      test('the good cookie works (control)', async () => {
        const r = await request(srv.url, '/all', null, { headers: { cookie: `${good[0]}=${good[1]}` } });
        assert.deepEqual(r.body.data, { secret: '1' });
      });
      test('tampered: every position flipped', async () => {
        const [name, value] = good;
        const step = Math.max(1, Math.floor(value.length / 24));
        for (let i = 0; i < value.length; i += step) {
          const ch = value[i] === 'A' ? 'B' : 'A';
          await fresh(`${name}=${value.slice(0, i)}${ch}${value.slice(i + 1)}`);
        }
      });
      test('truncated', async () => {
        const [name, value] = good;
        for (const n of [1, 2, 5, Math.floor(value.length / 2), value.length - 1]) await fresh(`${name}=${value.slice(0, n)}`);
      });
      test('trailing bytes', async () => {
        await fresh(`${good[0]}=${good[1]}AA`);
      });
      test('foreign: issued by a server with another secret', async () => {
        // A client-side store's keys are its secret: another server has its own store.
        const foreign = await serve([{ name: 'sid', store: serverSide ? store : await make() }], { secret: 'another secret' });
        const jar = new Jar();
        await request(foreign.url, '/set?secret=stolen', jar);
        await fresh(jar.header());
      });
      test('garbage, empty and huge values', async () => {
        for (const v of ['', '""', 's:', 's%3A', '%', '%zz', 's:x.y', '\u00e9\u00ff', '\t', 'a'.repeat(4096), 's%3A' + 'A'.repeat(32) + '.' + 'B'.repeat(43)]) {
          await fresh(`sid=${v}`);
        }
        await fresh(`x=1; ${'y'.repeat(8000)}=2; sid=${'z'.repeat(4000)}`);
      });
      // Client-side stores have no ids to adopt: the whole session is in the cookie.
      if (serverSide) test('an unknown but validly signed id is never adopted', async () => {
        const { createRequire } = await import('node:module');
        const require = createRequire(import.meta.url);
        const sig = require('cookie-signature');
        const chosen = 'A'.repeat(32);
        const cookie = `sid=${encodeURIComponent('s:' + sig.sign(chosen, SECRET))}`;
        const jar = new Jar();
        const r = await request(srv.url, '/set?x=1', jar, { headers: { cookie } });
        assert.equal(r.status, 200);
        const id = (await request(srv.url, '/id', jar)).body.id;
        assert.notEqual(id, chosen);
      });
    });
  });
}
