// hotsession/express against express-session 1.19's documented behaviour:
// the options, req.session's methods, the cookie, cookie-parser, proxies,
// Express 4 and 5 and plain node:http. Real servers on 127.0.0.1:0, real requests.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import session, { MemoryStore, Cookie, Session, Store } from 'hotsession/express';
import { closeServers, serve } from '../helpers/serve.mjs';

const require = createRequire(import.meta.url);
const express5 = require('express');
const express4 = require('express4');
const cookieParser = require('cookie-parser');
const signature = require('cookie-signature');
const expressSession = require('express-session');

after(closeServers);

/** A node:http listener running `mw` then `handler(req, res)`. */
function plain(mw, handler) {
  return (req, res) => mw(req, res, (err) => {
    if (err) {
      res.statusCode = 500;
      res.end(String(err.message));
      return;
    }
    handler(req, res);
  });
}

/** A store that counts calls of the express callback API. */
function counting(store = new MemoryStore()) {
  const calls = { get: 0, set: 0, touch: 0, destroy: 0 };
  for (const m of Object.keys(calls)) {
    const orig = store[m].bind(store);
    store[m] = (...args) => {
      calls[m]++;
      return orig(...args);
    };
  }
  return { store, calls };
}

const attr = (setCookie, name) => {
  const part = setCookie.split('; ').find((p) => p.toLowerCase().startsWith(name.toLowerCase()));
  return part === undefined ? undefined : part.includes('=') ? part.slice(part.indexOf('=') + 1) : true;
};

describe('module shape', () => {
  test('require() returns the middleware factory with the constructors attached', () => {
    const cjs = require('hotsession/express');
    assert.equal(typeof cjs, 'function');
    assert.equal(cjs, session);
    for (const name of ['Store', 'MemoryStore', 'Session', 'Cookie']) assert.equal(typeof cjs[name], 'function', name);
    assert.equal(cjs.Store, Store);
  });

  test('old-style stores can Store.call(this) and inherit regenerate/load/createSession', () => {
    function Legacy() {
      Store.call(this);
    }
    require('node:util').inherits(Legacy, Store);
    const s = new Legacy();
    assert.equal(typeof s.on, 'function');
    assert.equal(typeof s.createSession, 'function');
    class Modern extends Store {}
    assert.ok(new Modern() instanceof Store);
  });
});

describe('saveUninitialized, resave, rolling', () => {
  test('saveUninitialized: false sends no cookie and stores nothing until the session is written', async () => {
    const { store, calls } = counting();
    const get = await serve(plain(session({ secret: 's', resave: false, saveUninitialized: false, store }), (req, res) => {
      if (req.url === '/write') req.session.user = 'ann';
      res.end(String(req.session.user ?? ''));
    }));
    const idle = await get('/');
    assert.equal(idle.setCookie.length, 0);
    assert.equal(calls.set, 0);
    const written = await get('/write');
    assert.ok(written.cookie);
    assert.equal(calls.set, 1);
    assert.equal((await get('/', { cookie: written.cookie })).body, 'ann');
  });

  test('saveUninitialized: true stores and cookies every new session', async () => {
    const { store, calls } = counting();
    const get = await serve(plain(session({ secret: 's', resave: false, saveUninitialized: true, store }), (req, res) => res.end()));
    assert.ok((await get('/')).cookie);
    assert.equal(calls.set, 1);
  });

  test('resave: false touches instead of re-saving an unchanged session; resave: true saves it', async () => {
    for (const resave of [false, true]) {
      const { store, calls } = counting();
      const get = await serve(plain(session({ secret: 's', resave, saveUninitialized: false, store, cookie: { maxAge: 60_000 } }), (req, res) => {
        if (req.url === '/write') req.session.n = 1;
        res.end();
      }));
      const { cookie } = await get('/write');
      await get('/', { cookie });
      assert.equal(calls.set, resave ? 2 : 1, `resave ${resave}`);
      assert.equal(calls.touch, resave ? 0 : 1, `resave ${resave}`);
    }
  });

  test('a changed cookie-less property still counts as a modification with resave: false', async () => {
    const { store, calls } = counting();
    const get = await serve(plain(session({ secret: 's', resave: false, saveUninitialized: false, store }), (req, res) => {
      req.session.count = (req.session.count ?? 0) + 1;
      res.end(String(req.session.count));
    }));
    const first = await get('/');
    const second = await get('/', { cookie: first.cookie });
    assert.equal(second.body, '2');
    assert.equal(calls.set, 2);
    // A browser-session cookie is not re-sent for an existing session (express-session's rule).
    assert.equal(second.setCookie.length, 0);
  });

  test('rolling re-sends the cookie with a fresh expiry on every response', async () => {
    const get = await serve(plain(session({ secret: 's', resave: false, saveUninitialized: false, rolling: true, cookie: { maxAge: 60_000 } }), (req, res) => {
      if (req.url === '/write') req.session.n = 1;
      res.end();
    }));
    const first = await get('/write');
    await new Promise((r) => setTimeout(r, 1100));
    const again = await get('/', { cookie: first.cookie });
    assert.equal(again.setCookie.length, 1);
    assert.notEqual(attr(again.setCookie[0], 'Expires'), attr(first.setCookie[0], 'Expires'));
    const notRolling = await serve(plain(session({ secret: 's', resave: false, saveUninitialized: false, cookie: { maxAge: 60_000 } }), (req, res) => {
      if (req.url === '/write') req.session.n = 1;
      res.end();
    }));
    const w = await notRolling('/write');
    assert.equal((await notRolling('/', { cookie: w.cookie })).setCookie.length, 0);
  });
});

describe('unset', () => {
  for (const unset of ['destroy', 'keep']) {
    test(`unset: '${unset}' and req.session = null`, async () => {
      const { store, calls } = counting();
      const get = await serve(plain(session({ secret: 's', resave: false, saveUninitialized: false, unset, store }), (req, res) => {
        if (req.url === '/write') req.session.n = 1;
        if (req.url === '/drop') req.session = null;
        res.end();
      }));
      const { cookie } = await get('/write');
      const sid = decodeURIComponent(cookie.split('=')[1]).slice(2).split('.')[0];
      const dropped = await get('/drop', { cookie });
      assert.equal(dropped.setCookie.length, 0);
      assert.equal(calls.destroy, unset === 'destroy' ? 1 : 0);
      const found = await new Promise((r) => store.get(sid, (err, s) => r(s)));
      assert.equal(Boolean(found), unset === 'keep');
    });
  }
  test('an unknown unset value is refused', () => {
    assert.throws(() => session({ secret: 's', unset: 'maybe' }), /unset option/);
  });
});

describe('req.session methods', () => {
  const opts = (store) => ({ secret: 's', resave: false, saveUninitialized: false, store, cookie: { maxAge: 60_000 } });

  test('regenerate(cb) gives a new id and destroys the old record', async () => {
    const { store, calls } = counting();
    const get = await serve(plain(session(opts(store)), (req, res) => {
      if (req.url === '/login') {
        const before = req.sessionID;
        return req.session.regenerate((err) => {
          assert.ifError(err);
          assert.notEqual(req.sessionID, before);
          assert.equal(req.session.id, req.sessionID);
          req.session.user = 'bob';
          res.end(before);
        });
      }
      req.session.n = 1;
      res.end(req.sessionID);
    }));
    const first = await get('/');
    const login = await get('/login', { cookie: first.cookie });
    assert.equal(login.body, first.body);
    assert.equal(calls.destroy, 1);
    assert.notEqual(login.cookie, first.cookie);
    assert.equal((await new Promise((r) => store.get(first.body, (e, s) => r(s)))), undefined);
  });

  test('destroy(cb) removes the record and req.session; no cookie is set', async () => {
    const store = new MemoryStore();
    const get = await serve(plain(session(opts(store)), (req, res) => {
      if (req.url === '/out') return req.session.destroy((err) => res.end(String(err ?? req.session)));
      req.session.n = 1;
      res.end(req.sessionID);
    }));
    const first = await get('/');
    const out = await get('/out', { cookie: first.cookie });
    assert.equal(out.body, 'undefined');
    assert.equal(out.setCookie.length, 0);
    assert.equal(await new Promise((r) => store.length((e, n) => r(n))), 0);
  });

  test('reload(cb) reads what the store holds now; a missing record is an error', async () => {
    const store = new MemoryStore();
    const get = await serve(plain(session(opts(store)), (req, res) => {
      if (req.url === '/reload') {
        return store.get(req.sessionID, (e, stored) => {
          stored.n = 42;
          store.set(req.sessionID, stored, () => req.session.reload((err) => res.end(err ? 'err' : String(req.session.n))));
        });
      }
      if (req.url === '/missing') return req.session.reload((err) => res.end(err ? err.message : 'ok'));
      req.session.n = 1;
      res.end();
    }));
    const first = await get('/');
    assert.equal((await get('/reload', { cookie: first.cookie })).body, '42');
    assert.equal((await get('/missing')).body, 'failed to load session');
  });

  test('save(cb) stores before the callback and the end of the request does not save again', async () => {
    const { store, calls } = counting();
    const get = await serve(plain(session(opts(store)), (req, res) => {
      req.session.n = 1;
      req.session.save((err) => {
        assert.ifError(err);
        store.get(req.sessionID, (e, s) => res.end(String(s?.n)));
      });
    }));
    const r = await get('/');
    assert.equal(r.body, '1');
    assert.equal(calls.set, 1);
    assert.ok(r.cookie);
  });

  test('touch() restores the cookie lifetime; cookie maxAge, originalMaxAge and expires', async () => {
    const get = await serve(plain(session(opts()), (req, res) => {
      const c = req.session.cookie;
      assert.ok(c instanceof Cookie);
      assert.ok(req.session instanceof Session);
      c.maxAge = 1000;
      const shortened = c.maxAge;
      req.session.touch();
      res.end(JSON.stringify({ shortened, maxAge: c.maxAge, original: c.originalMaxAge, expires: c.expires instanceof Date }));
    }));
    const body = JSON.parse((await get('/')).body);
    assert.ok(body.shortened <= 1000);
    assert.equal(body.original, 1000);
    assert.ok(body.maxAge > 990 && body.maxAge <= 1000);
    assert.equal(body.expires, true);
  });

  test('Object.keys(req.session) shows data and cookie only; id is read-only', async () => {
    const get = await serve(plain(session(opts()), (req, res) => {
      req.session.a = 1;
      let threw = false;
      try {
        req.session.id = 'x';
      } catch {
        threw = true;
      }
      res.end(Object.keys(req.session).sort().join(',') + '|' + threw + '|' + (req.session.id === req.sessionID));
    }));
    assert.equal((await get('/')).body, 'a,cookie|true|true');
  });
});

describe('cookie', () => {
  test('maxAge gives Expires relative to now; expires gives an absolute date; none gives a browser-session cookie', async () => {
    const at = new Date(Date.now() + 3_600_000);
    for (const [cookie, check] of [
      [{ maxAge: 120_000 }, (e) => Math.abs(Date.parse(e) - Date.now() - 120_000) < 2000],
      [{ expires: at }, (e) => e === at.toUTCString()],
      [{}, (e) => e === undefined],
    ]) {
      const get = await serve(plain(session({ secret: 's', resave: false, saveUninitialized: true, cookie }), (req, res) => res.end()));
      const r = await get('/');
      assert.ok(check(attr(r.setCookie[0], 'Expires')), JSON.stringify(cookie) + ' -> ' + r.setCookie[0]);
    }
  });

  test('the Set-Cookie is byte-identical to express-session for the same id and secret', async () => {
    const cookie = { domain: 'example.com', path: '/', httpOnly: true, secure: true, sameSite: true, priority: 'high', partitioned: true };
    const opts = { secret: ['new', 'old'], resave: false, saveUninitialized: true, genid: () => 'fixed-id/with+odd=chars', cookie, proxy: true };
    const ours = await serve(plain(session({ ...opts }), (req, res) => res.end()));
    const theirs = await serve(plain(expressSession({ ...opts, cookie: { ...cookie } }), (req, res) => res.end()));
    const headers = { 'x-forwarded-proto': 'https' };
    const a = await ours('/', { headers });
    const b = await theirs('/', { headers });
    assert.equal(a.setCookie[0], b.setCookie[0]);
    assert.match(a.setCookie[0], /SameSite=Strict/);
  });

  test('an invalid cookie option is passed to next, as express-session does', async () => {
    const mw = session({ secret: 's', resave: false, saveUninitialized: true, cookie: { expires: new Date(NaN) } });
    const errors = [];
    const get = await serve((req, res) => mw(req, res, (err) => {
      if (err) return errors.push(err);
      res.end('ok');
    }));
    assert.equal((await get('/')).body, 'ok');
    await new Promise((r) => setImmediate(r));
    assert.equal(errors[0]?.message, 'option expires is invalid');
  });

  test("path scoping: no session outside the cookie's path", async () => {
    const get = await serve(plain(session({ secret: 's', resave: false, saveUninitialized: true, cookie: { path: '/app' } }), (req, res) => res.end(String(Boolean(req.session)))));
    assert.equal((await get('/other')).body, 'false');
    const inside = await get('/app/x?y=1');
    assert.equal(inside.body, 'true');
    assert.equal(attr(inside.setCookie[0], 'Path'), '/app');
  });
});

describe('secure and proxies', () => {
  test("secure: 'auto' follows Express's trust proxy through req.secure", async () => {
    for (const express of [express4, express5]) {
      const app = express();
      app.set('trust proxy', 1);
      app.use(session({ secret: 's', resave: false, saveUninitialized: true, cookie: { secure: 'auto' } }));
      app.get('/', (req, res) => res.end(String(req.session.cookie.secure)));
      const get = await serve(app);
      const https = await get('/', { headers: { 'x-forwarded-proto': 'https' } });
      assert.equal(https.body, 'true');
      assert.equal(attr(https.setCookie[0], 'Secure'), true);
      const insecure = await get('/');
      assert.equal(insecure.body, 'false');
      assert.equal(attr(insecure.setCookie[0], 'Secure'), undefined);
    }
  });

  test('proxy: true trusts X-Forwarded-Proto; proxy: false never does; a secure cookie is not sent over http', async () => {
    const mk = (proxy) => serve(plain(session({ secret: 's', resave: false, saveUninitialized: true, proxy, cookie: { secure: true } }), (req, res) => res.end()));
    const trusting = await mk(true);
    assert.equal((await trusting('/', { headers: { 'x-forwarded-proto': 'https, http' } })).setCookie.length, 1);
    assert.equal((await trusting('/')).setCookie.length, 0);
    const distrusting = await mk(false);
    assert.equal((await distrusting('/', { headers: { 'x-forwarded-proto': 'https' } })).setCookie.length, 0);
  });
});

describe('secrets, cookie-parser, genid', () => {
  test('secret arrays: the first signs, every one verifies', async () => {
    const store = new MemoryStore();
    const mw = session({ secret: ['new', 'old'], resave: false, saveUninitialized: false, store });
    const get = await serve(plain(mw, (req, res) => {
      if (req.url === '/write') req.session.v = 'kept';
      res.end(String(req.session.v));
    }));
    const w = await get('/write');
    const sid = decodeURIComponent(w.cookie.split('=')[1]).slice(2).split('.')[0];
    assert.equal(decodeURIComponent(w.cookie.split('=')[1]), 's:' + signature.sign(sid, 'new'));
    const oldCookie = 'connect.sid=' + encodeURIComponent('s:' + signature.sign(sid, 'old'));
    assert.equal((await get('/', { cookie: oldCookie })).body, 'kept');
    const forged = 'connect.sid=' + encodeURIComponent('s:' + signature.sign(sid, 'other'));
    assert.equal((await get('/', { cookie: forged })).body, 'undefined');
  });

  test('cookie-parser in front: same session, signedCookies and req.secret work', async () => {
    for (const express of [express4, express5]) {
      const app = express();
      app.use(cookieParser('s'));
      app.use((req, res, next) => {
        // A proxy that strips the header after cookie-parser read it: only req.signedCookies is left.
        if (req.query.strip) delete req.headers.cookie;
        next();
      });
      app.use(session({ resave: false, saveUninitialized: false }));
      app.get('/', (req, res) => {
        if (req.query.write) req.session.v = 'x';
        res.send(String(req.session.v));
      });
      const get = await serve(app);
      const w = await get('/?write=1');
      assert.ok(w.cookie, 'signed with req.secret');
      assert.equal((await get('/', { cookie: w.cookie })).body, 'x');
      assert.equal((await get('/?strip=1', { cookie: w.cookie })).body, 'x');
    }
  });

  test('without a secret or req.secret the request fails', async () => {
    const get = await serve(plain(session({ resave: false, saveUninitialized: false }), (req, res) => res.end('no')));
    const r = await get('/');
    assert.equal(r.status, 500);
    assert.match(r.body, /secret option required/);
  });

  test('genid receives the request and names the session', async () => {
    let seen;
    const get = await serve(plain(session({ secret: 's', resave: false, saveUninitialized: true, genid: (req) => (seen = req.url, 'id-' + req.url.length) }), (req, res) => res.end(req.sessionID)));
    const r = await get('/abc');
    assert.equal(r.body, 'id-4');
    assert.equal(seen, '/abc');
    assert.equal(decodeURIComponent(r.cookie.split('=')[1]), 's:' + signature.sign('id-4', 's'));
  });
});

describe('frameworks and responses', () => {
  for (const [label, express] of [['Express 4', express4], ['Express 5', express5]]) {
    test(`${label}: a session survives requests; res.json, redirect and streaming responses save it`, async () => {
      const app = express();
      app.use(session({ secret: 's', resave: false, saveUninitialized: false }));
      app.get('/json', (req, res) => {
        req.session.views = (req.session.views ?? 0) + 1;
        res.json({ views: req.session.views });
      });
      app.get('/redirect', (req, res) => {
        req.session.flash = 'hi';
        res.redirect('/json');
      });
      app.get('/stream', (req, res) => {
        req.session.streamed = true;
        res.write('a');
        setTimeout(() => res.end('b'), 20);
      });
      app.get('/read', (req, res) => res.send(JSON.stringify(req.session)));
      const get = await serve(app);
      const first = await get('/json');
      assert.equal(first.body, '{"views":1}');
      assert.equal((await get('/json', { cookie: first.cookie })).body, '{"views":2}');
      await get('/redirect', { cookie: first.cookie });
      const s = await get('/stream', { cookie: first.cookie });
      assert.equal(s.body, 'ab');
      const all = JSON.parse((await get('/read', { cookie: first.cookie })).body);
      assert.equal(all.views, 2);
      assert.equal(all.flash, 'hi');
      assert.equal(all.streamed, true);
      assert.equal(typeof all.cookie, 'object');
    });
  }

  test('plain node:http with a Content-Length body and a slow store', async () => {
    const store = new MemoryStore();
    const slowSet = store.set.bind(store);
    store.set = (sid, sess, cb) => setTimeout(() => slowSet(sid, sess, cb), 30);
    const get = await serve(plain(session({ secret: 's', resave: false, saveUninitialized: false, store }), (req, res) => {
      req.session.n = (req.session.n ?? 0) + 1;
      const body = 'count ' + req.session.n;
      res.setHeader('Content-Length', Buffer.byteLength(body));
      res.end(body);
    }));
    const first = await get('/');
    assert.equal(first.body, 'count 1');
    assert.equal((await get('/', { cookie: first.cookie })).body, 'count 2');
  });

  test('a second session() on the same request does nothing', async () => {
    const a = session({ secret: 's', resave: false, saveUninitialized: true });
    const b = session({ secret: 's', resave: false, saveUninitialized: true, name: 'other' });
    const get = await serve((req, res) => a(req, res, () => b(req, res, () => res.end())));
    const r = await get('/');
    assert.equal(r.setCookie.length, 1);
    assert.ok(r.cookie);
  });

  test("a store that emits 'disconnect' leaves requests without a session until 'connect'", async () => {
    const store = new MemoryStore();
    const get = await serve(plain(session({ secret: 's', resave: false, saveUninitialized: false, store }), (req, res) => res.end(String(Boolean(req.session)))));
    store.emit('disconnect');
    assert.equal((await get('/')).body, 'false');
    store.emit('connect');
    assert.equal((await get('/')).body, 'true');
  });
});
