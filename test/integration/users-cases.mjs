// Users' sessions (issue #17), the cases every store must pass, over node:http:
// user A from 3 clients and user B from 1, listing, revoking the others,
// "log out everywhere" racing 20 requests in flight, a bounded index after
// 10,000 logins and expiries, and a store without an index refusing login.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import { createSessionManager } from 'hotsession';
import { sessions, getSession } from 'hotsession/http';
import { Jar, request } from '../helpers/jar.mjs';

const SECRET = 'users test secret';

/** A node:http app with login, whoami, a held request, and an account API. */
export async function startUsersApp(store, options = {}) {
  const opts = { secret: SECRET, cookie: { secure: false }, ...options };
  const mw = sessions('sid', store, opts);
  // The account API: a manager over the same name, store and options.
  const manager = createSessionManager('sid', store, opts);
  const gates = [];
  const server = http.createServer((req, res) => {
    mw(req, res, async (err) => {
      if (err) {
        res.statusCode = 503;
        return res.end('store error');
      }
      const s = getSession(req);
      const url = new URL(req.url, 'http://x');
      const q = url.searchParams;
      let body;
      try {
        switch (url.pathname) {
          case '/login':
            await s.login(q.get('user'), { userAgent: req.headers['user-agent'] ?? null, device: q.get('device') });
            s.set('n', 0);
            body = { user: s.userId, handle: s.handle };
            break;
          case '/whoami':
            body = { user: s.userId ?? null, handle: s.handle ?? null, n: s.get('n') ?? null, x: s.get('x') ?? null };
            break;
          case '/held': {
            // Loaded now, committed when the test opens the gate: a request in flight.
            const loadedAs = s.userId ?? null;
            await new Promise((resolve) => gates.push(resolve));
            s.set('x', q.get('v'));
            s.set('n', (s.get('n') ?? 0) + 1);
            body = { loadedAs };
            break;
          }
          case '/devices':
            body = await manager.sessionsOf(s.userId);
            break;
          case '/revoke-others':
            body = { ended: await manager.revokeUser(s.userId, { except: s.handle }) };
            break;
          case '/logout':
            await s.destroy();
            body = { ok: true };
            break;
          default:
            res.statusCode = 404;
            return res.end();
        }
      } catch (e) {
        res.statusCode = 500;
        return res.end(String(e.code ?? e.message));
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(body));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${server.address().port}`;
  return {
    base,
    manager,
    /** Resolves once `n` requests wait at their gate. */
    async waiting(n) {
      while (gates.length < n) await new Promise((r) => setTimeout(r, 5));
    },
    open() {
      for (const g of gates.splice(0)) g();
    },
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

const get = (app, path, jar, ua) => request(app.base, path, jar, ua ? { headers: { 'user-agent': ua } } : {});

async function loginAll(app, users) {
  const jars = [];
  for (const [user, device] of users) {
    const jar = new Jar();
    await get(app, '/whoami', jar); // an anonymous visit first: login must change the id
    const r = await get(app, `/login?user=${user}&device=${device}`, jar, `ua-${device}`);
    assert.equal(r.status, 200, String(r.body));
    assert.equal(r.body.user, user);
    jars.push({ jar, handle: r.body.handle });
  }
  return jars;
}

/**
 * The must-show cases of issue #17 on one store. `makeStore()` gives a fresh
 * store (its own prefix / namespace); `closeStore(store)` releases it;
 * `logins` is how many logins the bounded-index case makes (10,000 unless a
 * backend is too slow for it on a shared test machine).
 */
export function usersCases(title, { skip, makeStore, closeStore = (s) => s.close(), options = {}, logins = 10_000 }) {
  describe(title, { skip: skip?.reason ?? skip ?? false }, () => {
    let store;
    let app;
    let userA;
    let userB;
    before(async () => {
      store = await makeStore();
      app = await startUsersApp(store, options);
    });
    after(async () => {
      await app?.close();
      if (store) await closeStore(store);
    });

    // Unique users per case: cases share one store.
    let round = 0;
    const fresh = () => {
      round++;
      userA = `ada-${round}-${process.pid}`;
      userB = `bob-${round}-${process.pid}`;
    };

    test('login changes the id, sets userId/handle; the handle is not the id', async () => {
      fresh();
      const jar = new Jar();
      await get(app, '/whoami', jar);
      const before = jar.header();
      const r = await get(app, `/login?user=${userA}&device=laptop`, jar);
      assert.equal(r.status, 200, String(r.body));
      assert.notEqual(jar.header(), before, 'login must give a new session id');
      const id = decodeURIComponent(jar.cookies.get('sid')).slice(2).split('.')[0];
      assert.equal(typeof r.body.handle, 'string');
      assert.notEqual(r.body.handle, id);
      assert.ok(!id.includes(r.body.handle) && !r.body.handle.includes(id));
      const who = await get(app, '/whoami', jar);
      assert.deepEqual([who.body.user, who.body.handle], [userA, r.body.handle]);
      const list = await app.manager.sessionsOf(userA);
      assert.equal(list.length, 1);
      assert.ok(!JSON.stringify(list).includes(id), 'a listing never shows a session id');
    });

    test('A from 3 clients, B from 1: sessionsOf lists 3 with metadata; revoking the others leaves 1', async () => {
      fresh();
      const [a1, a2, a3, b1] = await loginAll(app, [[userA, 'laptop'], [userA, 'phone'], [userA, 'tablet'], [userB, 'desk']]);
      const list = (await get(app, '/devices', a1.jar)).body;
      assert.equal(list.length, 3);
      assert.deepEqual(new Set(list.map((d) => d.handle)), new Set([a1.handle, a2.handle, a3.handle]));
      for (const d of list) {
        assert.equal(typeof d.createdAt, 'number');
        assert.ok(d.lastSeenAt >= d.createdAt);
        assert.ok(['laptop', 'phone', 'tablet'].includes(d.meta.device));
        assert.equal(d.meta.userAgent, `ua-${d.meta.device}`);
      }
      const r = await get(app, '/revoke-others', a1.jar);
      assert.equal(r.body.ended, 2);
      assert.equal((await get(app, '/whoami', a2.jar)).body.user, null);
      assert.equal((await get(app, '/whoami', a3.jar)).body.user, null);
      assert.equal((await get(app, '/whoami', a1.jar)).body.user, userA);
      assert.equal((await get(app, '/whoami', b1.jar)).body.user, userB);
      assert.deepEqual((await app.manager.sessionsOf(userA)).map((d) => d.handle), [a1.handle]);
      assert.equal((await app.manager.sessionsOf(userB)).length, 1);
    });

    test('revokeSession ends one session; logout leaves the list', async () => {
      fresh();
      const [a1, a2] = await loginAll(app, [[userA, 'laptop'], [userA, 'phone']]);
      assert.equal(await app.manager.revokeSession(userA, a2.handle), true);
      assert.equal(await app.manager.revokeSession(userA, a2.handle), false);
      assert.equal((await get(app, '/whoami', a2.jar)).body.user, null);
      await get(app, '/logout', a1.jar);
      assert.equal((await get(app, '/whoami', a1.jar)).body.user, null);
      assert.deepEqual(await app.manager.sessionsOf(userA), []);
    });

    test('log out everywhere racing 20 requests in flight: none survives, none is resurrected', async () => {
      fresh();
      const clients = await loginAll(app, [[userA, 'laptop'], [userA, 'phone'], [userA, 'tablet'], [userB, 'desk']]);
      const mine = clients.slice(0, 3);
      const inflight = [];
      for (let i = 0; i < 20; i++) {
        const c = mine[i % 3];
        // Each carries the cookie it has now; its answer must not rewrite the jar.
        inflight.push(request(app.base, `/held?v=${i}`, null, { headers: { cookie: c.jar.header() } }));
      }
      await app.waiting(20);
      assert.equal(await app.manager.revokeUser(userA), 3);
      app.open();
      const answers = await Promise.all(inflight);
      for (const a of answers) {
        assert.equal(a.status, 200);
        assert.equal(a.body.loadedAs, userA);
      }
      for (const c of mine) {
        const who = (await get(app, '/whoami', c.jar)).body;
        assert.deepEqual([who.user, who.x, who.n], [null, null, null], 'a revoked session stays dead');
      }
      // Every in-flight cookie again, after their writes settled: still nothing behind them.
      for (const a of answers) {
        for (const sc of a.setCookie) {
          if (sc.name !== 'sid' || sc.maxAge <= 0) continue;
          const who = (await request(app.base, '/whoami', null, { headers: { cookie: `sid=${sc.value}` } })).body;
          assert.equal(who.user, null);
          assert.equal(who.x, null);
        }
      }
      assert.deepEqual(await app.manager.sessionsOf(userA), []);
      assert.equal((await get(app, '/whoami', clients[3].jar)).body.user, userB);
    });

    test(`${logins.toLocaleString('en-US')} logins and expiries of one user leave a bounded index`, { timeout: 300_000 }, async () => {
      fresh();
      const max = 8;
      const mstore = store;
      const manager = createSessionManager('sid', mstore, { secret: SECRET, ttl: 40, users: { maxPerUser: max, seenInterval: 10 } });
      const batch = 10;
      for (let done = 0; done < logins; done += batch) {
        await Promise.all(Array.from({ length: batch }, async () => {
          const s = await manager.load(undefined);
          await s.login(userA);
          await manager.commit(s);
        }));
        const size = (await mstore.users.list(userA)).length;
        assert.ok(size <= max + batch, `index holds ${size} entries`);
      }
      const size = (await mstore.users.list(userA)).length;
      assert.ok(size <= max + batch, `index holds ${size} entries after ${logins} logins`);
      // The sessions expire (ttl 40 ms): listing then prunes every entry.
      await new Promise((r) => setTimeout(r, 120));
      assert.deepEqual(await manager.sessionsOf(userA), []);
      assert.equal((await mstore.users.list(userA)).length, 0);
    });

    test('a session past maxPerUser ends the least recently seen one', async () => {
      fresh();
      const manager = createSessionManager('sid', store, { secret: SECRET, users: { maxPerUser: 2 } });
      const s1 = await manager.load(undefined);
      await s1.login(userA);
      await manager.commit(s1);
      const first = s1.id;
      for (let i = 0; i < 2; i++) {
        // lastSeenAt has millisecond resolution: keep "least recently seen" unambiguous.
        await new Promise((r) => setTimeout(r, 3));
        const s = await manager.load(undefined);
        await s.login(userA);
        await manager.commit(s);
      }
      const list = await manager.sessionsOf(userA);
      assert.equal(list.length, 2);
      assert.ok(!list.some((d) => d.handle === s1.handle));
      assert.equal(await store.get(first), null, 'the evicted session is ended, not just unlisted');
    });
  });
}
