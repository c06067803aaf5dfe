// Users' sessions on the cookie store (issue #17): no per-session server
// state; revocations are kept per user in a server store (MemoryStore here,
// RedisStore when Redis is up) and checked when a logged-in cookie is opened.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { MemoryStore } from 'hotsession';
import { CookieStore } from 'hotsession/cookie';
import { RedisStore } from 'hotsession/redis';
import { Jar, request } from '../helpers/jar.mjs';
import { backend, REDIS_URL } from '../helpers/backends.mjs';
import { dropRedisPrefix } from '../helpers/cleanup.mjs';
import { startUsersApp } from './users-cases.mjs';

const redisSkip = await backend('redis');
const run = randomBytes(6).toString('hex');
after(async () => {
  if (!redisSkip) await dropRedisPrefix(REDIS_URL, `sess:test:${run}:`);
});

const get = (app, path, jar) => request(app.base, path, jar);

async function loginAll(app, users) {
  const out = [];
  for (const [user, device] of users) {
    const jar = new Jar();
    const r = await get(app, `/login?user=${user}&device=${device}`, jar);
    assert.equal(r.status, 200, String(r.body));
    out.push({ jar, handle: r.body.handle });
  }
  return out;
}

function cookieCases(title, makeRevocations, skip) {
  describe(title, { skip: skip?.reason ?? false }, () => {
    let revocations;
    let app;
    before(async () => {
      revocations = makeRevocations();
      app = await startUsersApp(new CookieStore({ secret: 'a cookie store secret of enough length', revocations }));
    });
    after(async () => {
      await app.close();
      await revocations.close();
    });

    test('revoking the others from client 1 leaves 2 and 3 anonymous, 1 logged in, B untouched', async () => {
      const [a1, a2, a3, b1] = await loginAll(app, [['ada', 'laptop'], ['ada', 'phone'], ['ada', 'tablet'], ['bob', 'desk']]);
      assert.equal((await get(app, '/whoami', a2.jar)).body.user, 'ada');
      assert.equal((await get(app, '/revoke-others', a1.jar)).status, 200);
      assert.equal((await get(app, '/whoami', a2.jar)).body.user, null);
      assert.equal((await get(app, '/whoami', a3.jar)).body.user, null);
      assert.equal((await get(app, '/whoami', a1.jar)).body.user, 'ada');
      assert.equal((await get(app, '/whoami', b1.jar)).body.user, 'bob');
      // A later login of the user is not affected by an earlier revocation.
      const [a4] = await loginAll(app, [['ada', 'new']]);
      assert.equal((await get(app, '/whoami', a4.jar)).body.user, 'ada');
    });

    test('revokeSession ends one cookie session', async () => {
      const [c1, c2] = await loginAll(app, [['cy', 'laptop'], ['cy', 'phone']]);
      assert.equal(await app.manager.revokeSession('cy', c2.handle), true);
      assert.equal((await get(app, '/whoami', c2.jar)).body.user, null);
      assert.equal((await get(app, '/whoami', c1.jar)).body.user, 'cy');
      await assert.rejects(app.manager.sessionsOf('cy'), { code: 'HOTSESSION_ERR_USERS_UNSUPPORTED' });
    });

    test('log out everywhere racing 20 requests in flight: no resealed cookie survives', async () => {
      const clients = await loginAll(app, [['dee', 'laptop'], ['dee', 'phone'], ['dee', 'tablet'], ['eve', 'desk']]);
      const mine = clients.slice(0, 3);
      const inflight = [];
      for (let i = 0; i < 20; i++) inflight.push(request(app.base, `/held?v=${i}`, null, { headers: { cookie: mine[i % 3].jar.header() } }));
      await app.waiting(20);
      await app.manager.revokeUser('dee');
      app.open();
      const answers = await Promise.all(inflight);
      let resealed = 0;
      for (const a of answers) {
        assert.equal(a.body.loadedAs, 'dee');
        for (const sc of a.setCookie) {
          if (sc.name !== 'sid' || sc.maxAge <= 0) continue;
          resealed++;
          const who = (await request(app.base, '/whoami', null, { headers: { cookie: `sid=${sc.value}` } })).body;
          assert.deepEqual([who.user, who.x], [null, null], 'a cookie resealed by a request in flight is revoked too');
        }
      }
      assert.ok(resealed > 0, 'the requests in flight did reseal their cookies');
      for (const c of mine) assert.equal((await get(app, '/whoami', c.jar)).body.user, null);
      assert.equal((await get(app, '/whoami', clients[3].jar)).body.user, 'eve');
    });
  });
}

cookieCases('users: CookieStore, revocations in a MemoryStore', () => new MemoryStore());
cookieCases('users: CookieStore, revocations in Redis', () => RedisStore.connect(REDIS_URL, { prefix: `sess:test:${run}:` }), redisSkip);

test('a cookie store without revocations logs in but cannot revoke', async () => {
  const app = await startUsersApp(new CookieStore({ secret: 'a cookie store secret of enough length' }));
  try {
    const jar = new Jar();
    const r = await get(app, '/login?user=fay&device=x', jar);
    assert.equal(r.body.user, 'fay');
    assert.equal((await get(app, '/whoami', jar)).body.user, 'fay');
    await assert.rejects(app.manager.revokeUser('fay'), { code: 'HOTSESSION_ERR_USERS_UNSUPPORTED' });
  } finally {
    await app.close();
  }
});
