// Users' sessions under hotsession/express (issue #17), Express 4 and 5 on
// real servers: login(req) beside req.session, the middleware's manager as
// the account API, on MemoryStore and RedisStore: devices listed with meta,
// "my other devices", "log out everywhere" racing 20 requests in flight,
// logout leaving the index, lastSeenAt refreshed once per seenInterval, and
// an express-session store refusing login with a coded error.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import session, { login, userOf, MemoryStore as ExpressMemoryStore } from 'hotsession/express';
import { MemoryStore } from 'hotsession';
import { RedisStore } from 'hotsession/redis';
import { backend, REDIS_URL } from '../helpers/backends.mjs';
import { closeServers, serve } from '../helpers/serve.mjs';
import { dropRedisPrefix } from '../helpers/cleanup.mjs';

const require = createRequire(import.meta.url);
const expresses = { 4: require('express4'), 5: require('express') };
// express-session's own MemoryStore: a connect-style store, with no per-user index.
const ConnectMemoryStore = require('express-session').MemoryStore;
const redisSkip = await backend('redis');
const run = randomBytes(5).toString('hex');
after(closeServers);
after(() => (redisSkip ? undefined : dropRedisPrefix(REDIS_URL, `hs:users-express:${run}:`)));

/** An Express app with login, whoami, a held request, logout and the account API. */
function app(express, store, options = {}) {
  const a = express();
  const mw = session({ secret: 'users express secret', resave: false, saveUninitialized: false, store, ...options });
  const accounts = mw.manager;
  const gates = [];
  a.use(mw);
  a.get('/login', async (req, res, next) => {
    try {
      await login(req, req.query.user, { userAgent: req.get('user-agent') ?? null });
      req.session.n = 0;
      res.json(userOf(req));
    } catch (err) {
      next(err);
    }
  });
  a.get('/whoami', (req, res) => {
    req.session.n = (req.session.n ?? 0) + 1;
    res.json({ user: userOf(req)?.userId ?? null, n: req.session.n });
  });
  // Held until /release: a request in flight while its session is revoked.
  a.get('/held', (req, res) => {
    gates.push(() => {
      req.session.x = 'written while held';
      res.json({ user: userOf(req)?.userId ?? null });
    });
  });
  a.get('/release', (req, res) => {
    for (const g of gates.splice(0)) g();
    res.end('ok');
  });
  a.get('/devices', async (req, res) => {
    const me = userOf(req);
    if (me === null) return res.status(401).end();
    res.json((await accounts.sessionsOf(me.userId)).map((d) => ({ ...d, current: d.handle === me.handle })));
  });
  a.get('/revoke-others', async (req, res) => res.json(await accounts.revokeUser(userOf(req).userId, { except: userOf(req).handle })));
  a.get('/logout', (req, res) => req.session.destroy(() => res.end('bye')));
  a.use((err, req, res, next) => res.status(err.status ?? 500).json({ code: err.code ?? null }));
  return { a, accounts, gates };
}

const stores = [
  ['MemoryStore', () => new MemoryStore(), null],
  // The default store: a view over the core MemoryStore, so users' sessions work without choosing a store.
  ['session.MemoryStore', () => new ExpressMemoryStore(), null],
  ['RedisStore', () => RedisStore.connect(REDIS_URL, { prefix: `hs:users-express:${run}:${Math.random().toString(36).slice(2)}:` }), redisSkip],
];

for (const [v, express] of Object.entries(expresses)) {
  for (const [label, makeStore, skip] of stores) {
    describe(`users under hotsession/express: Express ${v}, ${label}`, { skip: skip?.reason ?? false }, () => {
      test('3 devices and another user: listed with meta, "my other devices", logout leaves the list, "everywhere" while 20 requests are in flight', async () => {
        const store = makeStore();
        const { a, accounts, gates } = app(express, store);
        const get = await serve(a);
        const ada = `ada-${run}`;
        const bob = `bob-${run}`;
        const login = async (user, ua) => {
          const anon = await get('/whoami', { headers: { 'user-agent': ua } });
          const r = await get(`/login?user=${user}`, { cookie: anon.cookie, headers: { 'user-agent': ua } });
          assert.equal(r.status, 200, r.body);
          assert.ok(r.cookie && r.cookie !== anon.cookie, 'login gives a new session id');
          const me = JSON.parse(r.body);
          assert.equal(me.userId, user);
          assert.ok(!r.cookie.includes(me.handle), 'the handle is not the id');
          return r.cookie;
        };
        const c = [await login(ada, 'laptop'), await login(ada, 'phone'), await login(ada, 'tablet')];
        const b = await login(bob, 'desktop');
        const devices = JSON.parse((await get('/devices', { cookie: c[0] })).body);
        assert.deepEqual(devices.map((d) => d.meta.userAgent), ['laptop', 'phone', 'tablet']);
        assert.deepEqual(devices.map((d) => d.current), [true, false, false]);
        assert.equal(JSON.parse((await get('/revoke-others', { cookie: c[0] })).body), 2);
        for (const k of [1, 2]) assert.equal(JSON.parse((await get('/whoami', { cookie: c[k] })).body).user, null);
        assert.equal(JSON.parse((await get('/whoami', { cookie: c[0] })).body).user, ada);
        assert.equal(JSON.parse((await get('/whoami', { cookie: b })).body).user, bob);
        // Logout: the session leaves the user's list.
        const c3 = await login(ada, 'kiosk');
        assert.equal((await accounts.sessionsOf(ada)).length, 2);
        await get('/logout', { cookie: c3 });
        assert.deepEqual((await accounts.sessionsOf(ada)).map((d) => d.meta.userAgent), ['laptop']);
        // "Log out everywhere" while 20 requests of ada's two devices are held in flight.
        const c4 = await login(ada, 'watch');
        const held = Array.from({ length: 20 }, (_, i) => get('/held', { cookie: i % 2 ? c[0] : c4 }));
        while (gates.length < 20) await new Promise((r) => setTimeout(r, 5));
        assert.equal(await accounts.revokeUser(ada), 2);
        await get('/release');
        for (const r of await Promise.all(held)) assert.equal(r.status, 200);
        for (const cookie of [c[0], c4]) assert.equal(JSON.parse((await get('/whoami', { cookie })).body).user, null, 'no revoked session comes back');
        assert.deepEqual(await accounts.sessionsOf(ada), []);
        assert.equal((await accounts.sessionsOf(bob)).length, 1);
        await store.close();
      });

      test('lastSeenAt is refreshed once per seenInterval by the requests of a logged-in session', async () => {
        const store = makeStore();
        const { a, accounts } = app(express, store, { users: { seenInterval: 100 } });
        const get = await serve(a);
        const user = `kim-${run}-${v}`;
        const r = await get(`/login?user=${user}`);
        const [first] = await accounts.sessionsOf(user);
        await get('/whoami', { cookie: r.cookie });
        assert.equal((await accounts.sessionsOf(user))[0].lastSeenAt, first.lastSeenAt, 'not within the interval');
        await new Promise((res) => setTimeout(res, 130));
        const before = Date.now();
        await get('/whoami', { cookie: r.cookie });
        await new Promise((res) => setTimeout(res, 30)); // the refresh does not hold the response
        assert.ok((await accounts.sessionsOf(user))[0].lastSeenAt >= before);
        await accounts.revokeUser(user);
        await store.close();
      });
    });
  }

  test(`Express ${v}: a connect-style store refuses login with a coded error; userOf is null for anonymous sessions`, async () => {
    const { a } = app(express, new ConnectMemoryStore());
    const get = await serve(a);
    const r = await get('/login?user=ada');
    assert.equal(r.status, 500);
    assert.equal(JSON.parse(r.body).code, 'HOTSESSION_ERR_USERS_UNSUPPORTED');
    assert.equal(JSON.parse((await get('/whoami')).body).user, null);
    assert.equal(session({ secret: 's', resave: false, saveUninitialized: false, store: new ConnectMemoryStore() }).manager, undefined);
  });
}

test('one session.MemoryStore behind two cookie names: each middleware lists and revokes its own users', async () => {
  const store = new ExpressMemoryStore();
  const one = app(expresses[5], store, { name: 'a.sid' });
  const two = app(expresses[5], store, { name: 'b.sid' });
  const getOne = await serve(one.a);
  const getTwo = await serve(two.a);
  assert.equal((await getOne(`/login?user=u1-${run}`)).status, 200);
  assert.equal((await getTwo(`/login?user=u2-${run}`)).status, 200);
  assert.equal((await one.accounts.sessionsOf(`u1-${run}`)).length, 1);
  assert.equal((await two.accounts.sessionsOf(`u2-${run}`)).length, 1);
  assert.equal(await two.accounts.revokeUser(`u2-${run}`), 1);
  assert.equal((await one.accounts.sessionsOf(`u1-${run}`)).length, 1);
  await store.close();
});

test('login(req) refuses bad user ids and oversized meta, and leaves the session anonymous', async () => {
  const store = new MemoryStore();
  const a = expresses[5]();
  a.use(session({ secret: 's', resave: false, saveUninitialized: false, store }));
  a.get('/bad', async (req, res) => {
    const codes = [];
    for (const [u, m] of [['', undefined], [42, undefined], ['ada', { ua: 'x'.repeat(2000) }]]) {
      await login(req, u, m).catch((e) => codes.push(e.code));
    }
    res.json({ codes, user: userOf(req) });
  });
  const get = await serve(a);
  const body = JSON.parse((await get('/bad')).body);
  assert.deepEqual(body.codes, ['HOTSESSION_ERR_USERS_UNSUPPORTED', 'HOTSESSION_ERR_USERS_UNSUPPORTED', 'HOTSESSION_ERR_ENCODE']);
  assert.equal(body.user, null);
  await store.close();
});

test('hotsession/express: a cookie lifetime that grows after login ("remember me") keeps the session listed and revocable', async () => {
  const store = new MemoryStore();
  const { a, accounts } = app(expresses[5], store, { ttl: 100, users: { seenInterval: 1000 } });
  a.get('/remember', (req, res) => {
    req.session.cookie.maxAge = 5000;
    res.end('ok');
  });
  const get = await serve(a);
  const r = await get('/login?user=rem');
  await get('/remember', { cookie: r.cookie });
  await new Promise((res) => setTimeout(res, 1300));
  // Listed before any other request of the session could refresh its entry.
  assert.equal((await accounts.sessionsOf('rem')).length, 1, 'listed');
  assert.equal(await accounts.revokeUser('rem'), 1);
  assert.equal(JSON.parse((await get('/whoami', { cookie: r.cookie })).body).user, null);
  await store.close();
});

test('hotsession/express: login(req) after passport\'s req.login keeps passport\'s user and lists the session', async () => {
  const { Passport } = require('passport');
  const passport = new Passport();
  passport.serializeUser((user, done) => done(null, user.name));
  passport.deserializeUser((name, done) => done(null, { name }));
  const store = new MemoryStore();
  const a = expresses[5]();
  const mw = session({ secret: 'passport users secret', resave: false, saveUninitialized: false, store });
  a.use(mw);
  a.use(passport.initialize());
  a.use(passport.session());
  a.get('/login', (req, res, next) => {
    req.login({ name: 'ann' }, (err) => {
      if (err) return next(err);
      login(req, 'ann', { via: 'passport' }).then(() => res.end('ok'), next);
    });
  });
  a.get('/me', (req, res) => res.json({ user: req.user?.name ?? null, listed: userOf(req)?.userId ?? null }));
  const get = await serve(a);
  const r = await get('/login');
  assert.equal(r.status, 200, r.body);
  assert.deepEqual(JSON.parse((await get('/me', { cookie: r.cookie })).body), { user: 'ann', listed: 'ann' });
  assert.equal((await mw.manager.sessionsOf('ann')).length, 1);
  assert.equal(await mw.manager.revokeUser('ann'), 1);
  assert.deepEqual(JSON.parse((await get('/me', { cookie: r.cookie })).body), { user: null, listed: null });
  await store.close();
});
