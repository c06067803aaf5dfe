// hotsession/uws over real sockets: the response rules, the synchronous
// fast path, errors, clients that leave mid-request, and 1,000 concurrent
// sessions.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { execFileSync } from 'node:child_process';
import { createHook } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { MemoryStore, HotsessionError, codes } from 'hotsession';
import { sessions, sessionsMany, commit } from 'hotsession/uws';
import { Jar, request } from '../helpers/jar.mjs';
import { listen } from '../helpers/uws-harness.mjs';

const SECRET = 'uws adapter test secret';
const cookieModule = await import('hotsession/cookie').catch(() => null);

/** A real MemoryStore behind a timer: every operation answers `ms` later, through a promise. */
class SlowStore {
  constructor(ms, inner = new MemoryStore()) {
    this.ms = ms;
    this.inner = inner;
    this.sets = 0;
  }
  async get(id) {
    await sleep(this.ms);
    return this.inner.get(id);
  }
  async set(id, record, ttl) {
    await sleep(this.ms);
    this.sets++;
    return this.inner.set(id, record, ttl);
  }
  async patch(id, patch, ttl) {
    await sleep(this.ms);
    this.sets++;
    return this.inner.patch(id, patch, ttl);
  }
  async forward(id, marker, grace) {
    await sleep(this.ms);
    return this.inner.forward(id, marker, grace);
  }
  async touch(id, ttl) {
    await sleep(this.ms);
    return this.inner.touch(id, ttl);
  }
  async destroy(id) {
    await sleep(this.ms);
    return this.inner.destroy(id);
  }
  close() {
    return this.inner.close();
  }
}

/** A store whose backend is down; its errors carry details that must never reach a client. */
class BrokenStore {
  constructor({ get = true, set = true } = {}) {
    this.inner = new MemoryStore();
    this.failGet = get;
    this.failSet = set;
  }
  #err() {
    return new Error('connect ECONNREFUSED 10.1.2.3:6379 password=hunter2');
  }
  get(id) {
    return this.failGet ? Promise.reject(this.#err()) : this.inner.get(id);
  }
  set(id, record, ttl) {
    return this.failSet ? Promise.reject(this.#err()) : this.inner.set(id, record, ttl);
  }
  patch(id, patch, ttl) {
    return this.failSet ? Promise.reject(this.#err()) : this.inner.patch(id, patch, ttl);
  }
  forward(id, marker, grace) {
    return this.failSet ? Promise.reject(this.#err()) : this.inner.forward(id, marker, grace);
  }
  touch(id, ttl) {
    return this.inner.touch(id, ttl);
  }
  destroy(id) {
    return this.inner.destroy(id);
  }
  close() {
    return this.inner.close();
  }
}

const WRITES = ['cork', 'writeStatus', 'writeHeader', 'write', 'end', 'endWithoutBody', 'tryEnd', 'close'];

/**
 * Wraps a route so that any use of res after its abort is counted (uWS
 * would throw on it), and remembers each path's res.
 */
function guarded(route, stats) {
  return (res, req) => {
    stats.seen.set(req.getUrl(), res);
    for (const m of WRITES) {
      const orig = res[m];
      if (typeof orig !== 'function') continue;
      res[m] = function (...args) {
        if (res.aborted === true) stats.afterAbort++;
        return orig.apply(res, args);
      };
    }
    route(res, req);
  };
}

async function waitFor(what, cond, ms = 5000) {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

/** Sends a request on a raw socket and leaves (destroys the socket) as soon as the server has it. */
function leaveOnArrival(port, path, stats, cookie) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${cookie ? `Cookie: ${cookie}\r\n` : ''}\r\n`);
      waitFor(`${path} to arrive`, () => stats.seen.has(path)).then(() => {
        s.destroy();
        resolve();
      }, reject);
    });
    s.on('error', () => {});
  });
}

const count = (s) => {
  const n = (s.get('n') ?? 0) + 1;
  s.set('n', n);
  return n;
};

test('hotsession/uws never loads uWebSockets.js itself', () => {
  const code = "require('hotsession/uws'); process.stdout.write(JSON.stringify(Object.keys(require.cache).filter((k) => /uWebSockets|uws-js|uws_/i.test(k))))";
  const out = execFileSync(process.execPath, ['-e', code], { encoding: 'utf8' });
  assert.deepEqual(JSON.parse(out), []);
});

test('bad options and handlers fail fast with clear errors', () => {
  const store = new MemoryStore();
  try {
    assert.throws(() => sessions('sid', store, { secret: SECRET, errorStatus: 200 }), { code: codes.OPTIONS });
    assert.throws(() => sessions('sid', store, { secret: SECRET, onError: 'log' }), { code: codes.OPTIONS });
    assert.throws(() => sessions('sid', store, {}), { code: codes.OPTIONS });
    assert.throws(() => sessionsMany(['a', 'a'], store, { secret: SECRET }), { code: codes.OPTIONS });
    assert.throws(() => sessions('sid', store, { secret: SECRET })('not a function'), TypeError);
    assert.throws(() => sessions('sid', store, { secret: SECRET })(42, () => {}), TypeError);
    assert.throws(() => commit({}), TypeError);
  } finally {
    store.close();
  }
});

describe('hotsession/uws', () => {
  const servers = [];
  const stores = [];
  const errors = [];
  const onError = (err, source) => errors.push({ err, source });
  const serve = async (mount) => {
    const srv = await listen(mount);
    servers.push(srv);
    return srv;
  };
  const store = (s) => {
    stores.push(s);
    return s;
  };
  after(async () => {
    for (const s of servers) await s.close();
    for (const s of stores) await s.close();
  });

  const syncStores = [['memory', () => new MemoryStore()]];
  if (cookieModule) syncStores.push(['cookie', () => new cookieModule.CookieStore({ keys: [randomBytes(32)] })]);
  for (const [kind, make] of syncStores) test(`the ${kind} store is served synchronously: no promise is created`, async () => {
    const withSession = sessions('sid', store(make()), { secret: SECRET, onError });
    const route = withSession((res, req, session) => `n=${count(session)}`);
    let counting = false;
    let promises = 0;
    const hook = createHook({ init(id, type) { if (counting && type === 'PROMISE') promises++; } });
    const srv = await serve((app) => app.get('/count', (res, req) => {
      counting = true;
      try {
        route(res, req);
      } finally {
        counting = false;
      }
    }));
    hook.enable();
    try {
      const jar = new Jar();
      const r1 = await request(srv.url, '/count', jar);
      const r2 = await request(srv.url, '/count', jar);
      const r3 = await request(srv.url, '/count', jar);
      assert.deepEqual([r1.body, r2.body, r3.body], ['n=1', 'n=2', 'n=3']);
      assert.equal(r1.setCookie.length, 1, 'a new session sets its cookie');
      assert.equal(r1.setCookie[0].name, 'sid');
    } finally {
      hook.disable();
    }
    assert.equal(promises, 0, 'no promise allocated while serving');
  });

  test('result forms: body, { status, headers, body }, undefined', async () => {
    // maxAge: a written session's cookie moves its expiry, so every write re-sends it.
    const withSession = sessions('sid', store(new MemoryStore()), { secret: SECRET, onError, cookie: { maxAge: 60_000 } });
    const srv = await serve((app) => {
      app.get('/text', withSession((res, req, s) => { count(s); return 'text'; }));
      app.get('/buf', withSession(() => Buffer.from('buffer')));
      app.get('/u8', withSession(() => new TextEncoder().encode('uint8')));
      app.get('/ab', withSession(() => new TextEncoder().encode('arraybuffer').buffer));
      app.get('/reply', withSession((res, req, s) => {
        count(s);
        return { status: 201, headers: { 'content-type': 'application/json', 'x-many': ['a', 'b'], 'x-n': 7, 'content-length': '999' }, body: '{"ok":true}' };
      }));
      app.get('/async-reply', withSession(async (res, req, s) => {
        await sleep(5);
        count(s);
        return { status: 418, body: 'teapot' };
      }));
      app.get('/empty', withSession((res, req, s) => { count(s); }));
      app.get('/headers-only', withSession(() => ({ headers: { 'x-a': '1' } })));
      app.get('/not-modified', withSession(() => ({ status: 304, headers: { etag: '"v1"' }, body: 'dropped' })));
    });
    const jar = new Jar();
    let r = await request(srv.url, '/text', jar);
    assert.equal(r.status, 200);
    assert.equal(r.body, 'text');
    assert.equal(r.setCookie.length, 1);
    assert.equal((await request(srv.url, '/buf', jar)).body, 'buffer');
    assert.equal((await request(srv.url, '/u8', jar)).body, 'uint8');
    assert.equal((await request(srv.url, '/ab', jar)).body, 'arraybuffer');

    const res = await fetch(srv.url + '/reply', { headers: { cookie: jar.header() } });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.equal(res.headers.get('x-many'), 'a, b');
    assert.equal(res.headers.get('x-n'), '7');
    assert.equal(res.headers.get('content-length'), '11', 'uWS computes content-length; a given one is ignored');
    assert.deepEqual(await res.json(), { ok: true });
    assert.equal(res.headers.getSetCookie().length, 1, 'the written session re-sends its cookie beside the reply headers');

    r = await request(srv.url, '/async-reply', new Jar());
    assert.equal(r.status, 418);
    assert.equal(r.body, 'teapot');
    assert.equal(r.setCookie.length, 1, 'async handlers get their cookie too');

    const e = await fetch(srv.url + '/empty');
    assert.equal(e.status, 204);
    assert.equal(e.headers.get('content-length'), null, 'a 204 carries no content-length');
    assert.equal(e.headers.getSetCookie().length, 1, 'the 204 carries the new cookie');
    const h = await fetch(srv.url + '/headers-only');
    assert.equal(h.status, 204);
    assert.equal(h.headers.get('x-a'), '1');
    // A raw socket shows the bytes: no body and no content-length on a 304.
    const raw = await new Promise((resolve, reject) => {
      const sock = net.connect(srv.port, '127.0.0.1', () => sock.end('GET /not-modified HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
      let text = '';
      sock.on('data', (d) => { text += d; });
      sock.on('close', () => resolve(text));
      sock.on('error', reject);
    });
    assert.match(raw, /^HTTP\/1\.1 304 Not Modified\r\n/);
    assert.match(raw, /\r\netag: "v1"\r\n/i);
    assert.doesNotMatch(raw, /content-length|dropped/i);
  });

  test('a handler that ends res itself: commit() gives its cookies, sync and async', async () => {
    const cookie = { maxAge: 60_000 };
    const memory = sessions('sid', store(new MemoryStore()), { secret: SECRET, onError, cookie });
    const slow = sessions('sid', store(new SlowStore(15)), { secret: SECRET, onError, cookie });
    const srv = await serve((app) => {
      app.get('/sync', memory((res, req, s) => {
        const n = count(s);
        const cookies = commit(s);
        assert.ok(Array.isArray(cookies), 'the memory store commits synchronously');
        res.writeStatus('202 Accepted');
        for (const c of cookies) res.writeHeader('set-cookie', c);
        res.end(`mine ${n}`);
      }));
      app.get('/async', slow(async (res, req, s) => {
        const n = count(s);
        const cookies = await commit(s);
        if (res.aborted) return;
        res.cork(() => {
          res.writeStatus('202 Accepted');
          for (const c of cookies) res.writeHeader('set-cookie', c);
          res.end(`mine ${n}`);
        });
      }));
      app.get('/read-only', memory((res, req, s) => {
        res.end(`read ${s.get('n') ?? 0}`);
      }));
      // Ends res before its first await, then keeps working on the session.
      app.get('/early', slow(async (res, req, s) => {
        res.end('early');
        await sleep(5);
        s.set('later', true);
      }));
      app.get('/early-sync-store', memory(async (res, req, s) => {
        const cookies = commit(s);
        res.end(`early ${cookies.length}`);
        await sleep(5);
      }));
      app.get('/later', slow((res, req, s) => String(s.get('later') ?? false)));
    });
    for (const path of ['/sync', '/async']) {
      const jar = new Jar();
      const r1 = await request(srv.url, path, jar);
      assert.equal(r1.status, 202);
      assert.equal(r1.body, 'mine 1');
      assert.equal(r1.setCookie.length, 1, `${path}: one cookie, written by the handler`);
      const r2 = await request(srv.url, path, jar);
      assert.equal(r2.body, 'mine 2', `${path}: the session persisted`);
      assert.equal(r2.setCookie.length, 1, `${path}: one cookie again, not one from the handler and one from the adapter`);
    }
    const jar = new Jar();
    await request(srv.url, '/sync', jar);
    assert.equal((await request(srv.url, '/read-only', jar)).body, 'read 1', 'a handler may end res without touching the session');
    const j2 = new Jar();
    await request(srv.url, '/async', j2);
    assert.equal((await request(srv.url, '/early', j2)).body, 'early');
    await sleep(60);
    assert.equal((await request(srv.url, '/later', j2)).body, true, 'the work after res.end() was committed');
    assert.equal((await request(srv.url, '/early-sync-store', new Jar())).body, 'early 0');
  });

  test('a handler that ends res without sending its new cookie is warned about once', async () => {
    const warnings = [];
    const onWarning = (w) => { if (w.code === 'HOTSESSION_UWS_UNSENT_COOKIE') warnings.push(w); };
    process.on('warning', onWarning);
    try {
      const withSession = sessions('sid', store(new MemoryStore()), { secret: SECRET, onError });
      const srv = await serve((app) => app.get('/', withSession((res, req, s) => {
        count(s);
        res.end('forgot the cookie');
      })));
      for (let i = 0; i < 3; i++) {
        const r = await request(srv.url, '/', new Jar());
        assert.equal(r.body, 'forgot the cookie');
        assert.equal(r.setCookie.length, 0);
      }
      await sleep(10);
      assert.equal(warnings.length, 1);
    } finally {
      process.off('warning', onWarning);
    }
  });

  test('a handler that throws or rejects: 500, generic body, session changes dropped', async () => {
    errors.length = 0;
    const withSession = sessions('sid', store(new MemoryStore()), { secret: SECRET, onError });
    const srv = await serve((app) => {
      app.get('/set', withSession((res, req, s) => { count(s); return 'ok'; }));
      app.get('/n', withSession((res, req, s) => String(s.get('n') ?? 0)));
      app.get('/throw', withSession((res, req, s) => { count(s); throw new Error('internal detail 42'); }));
      app.get('/reject', withSession(async (res, req, s) => { await sleep(1); count(s); throw new Error('internal detail 43'); }));
      app.get('/bad-result', withSession(() => 42));
      app.get('/bad-status', withSession(() => ({ status: 'teapot' })));
    });
    const jar = new Jar();
    await request(srv.url, '/set', jar);
    for (const path of ['/throw', '/reject', '/bad-result', '/bad-status']) {
      const r = await request(srv.url, path, jar);
      assert.equal(r.status, 500, path);
      assert.equal(r.body, 'Internal Server Error');
      assert.equal(r.setCookie.length, 0);
    }
    assert.equal((await request(srv.url, '/n', jar)).body, 1, 'the failed handlers saved nothing');
    assert.deepEqual(errors.map((e) => e.source), ['handler', 'handler', 'handler', 'handler']);
    assert.equal(errors[0].err.message, 'internal detail 42');
    assert.ok(errors[2].err instanceof TypeError);
  });

  test('a store error is a 503 without details; errorStatus and onError', async () => {
    errors.length = 0;
    const down = sessions('sid', store(new BrokenStore()), { secret: SECRET, onError });
    const setFails = sessions('sid', store(new BrokenStore({ get: false })), { secret: SECRET, onError });
    const custom = sessions('sid', store(new BrokenStore()), { secret: SECRET, onError, errorStatus: 502 });
    let ran = 0;
    const srv = await serve((app) => {
      app.get('/load', down((res, req, s) => { ran++; return 'never'; }));
      app.get('/save', setFails((res, req, s) => { count(s); return 'not sent'; }));
      app.get('/save-async', setFails(async (res, req, s) => { await sleep(1); count(s); return 'not sent'; }));
      app.get('/custom', custom(() => 'never'));
    });
    // Loading only reaches the store with a well-formed signed cookie: get one from a healthy server.
    const healthy = sessions('sid', store(new MemoryStore()), { secret: SECRET, onError });
    const ok = await serve((app) => app.get('/', healthy((res, req, s) => { count(s); return 'ok'; })));
    const jar = new Jar();
    await request(ok.url, '/', jar);

    for (const [path, status, j] of [['/load', 503, jar], ['/save', 503, new Jar()], ['/save-async', 503, new Jar()], ['/custom', 502, jar]]) {
      const r = await request(srv.url, path, j);
      assert.equal(r.status, status, path);
      assert.ok(!/ECONNREFUSED|hunter2|10\.1\.2\.3/.test(r.body), `${path}: no detail in the body`);
      assert.ok(!r.raw.some((c) => c.startsWith('sid=')), `${path}: no cookie for an unsaved session`);
    }
    assert.equal(ran, 0, 'the handler never runs without its session');
    assert.equal(errors.length, 4);
    for (const { err, source } of errors) {
      assert.equal(source, 'store');
      assert.ok(err instanceof HotsessionError);
      assert.equal(err.code, codes.STORE);
      assert.match(err.cause.message, /ECONNREFUSED/, 'onError sees the cause');
    }
  });

  test('sessionsMany: named sessions, a getter, unknown names fail', async () => {
    const withSessions = sessionsMany(['a', 'b'], store(new MemoryStore()), { secret: SECRET, onError: () => {} });
    const slow = sessionsMany(['a', 'b'], store(new SlowStore(5)), { secret: SECRET, onError: () => {} });
    const srv = await serve((app) => {
      for (const [prefix, w] of [['', withSessions], ['/slow', slow]]) {
        app.get(`${prefix}/set`, w((res, req, get) => {
          get('a').set('v', 'left');
          get('b').set('v', 'right');
        }));
        app.get(`${prefix}/get`, w((res, req, get) => `${get('a').get('v')},${get('b').get('v')}`));
        app.get(`${prefix}/nope`, w((res, req, get) => get('c').id));
      }
    });
    for (const prefix of ['', '/slow']) {
      const jar = new Jar();
      const r = await request(srv.url, `${prefix}/set`, jar);
      assert.equal(r.status, 204);
      assert.deepEqual(r.setCookie.map((c) => c.name).sort(), ['a', 'b']);
      assert.equal((await request(srv.url, `${prefix}/get`, jar)).body, 'left,right');
      assert.equal((await request(srv.url, `${prefix}/nope`, jar)).status, 500);
    }
  });

  test('with an asynchronous store the handler reads a snapshot of req', async () => {
    const withSession = sessions('sid', store(new SlowStore(10)), { secret: SECRET, onError });
    const srv = await serve((app) => app.get('/snap/:id/:more', withSession(async (res, req, s) => {
      count(s);
      const first = {
        url: req.getUrl(), method: req.getMethod(), query: req.getQuery(), q: req.getQuery('q'),
        h: req.getHeader('x-test'), missing: req.getHeader('x-missing'), p0: req.getParameter(0), p1: req.getParameter(1), p2: req.getParameter(2),
      };
      return JSON.stringify(first);
    })));
    const jar = new Jar();
    await request(srv.url, '/snap/a/b', jar);
    const r = await request(srv.url, '/snap/one/two?q=a%20b+c&z=1', jar, { headers: { 'x-test': 'yes' } });
    assert.deepEqual(r.body, { url: '/snap/one/two', method: 'get', query: 'q=a%20b+c&z=1', q: 'a b c', h: 'yes', missing: '', p0: 'one', p1: 'two', p2: '' });
  });

  test('withSession(prepare, handler) reads a request body while an asynchronous store loads the session', async () => {
    const readBody = (res) => new Promise((resolve) => {
      const chunks = [];
      res.onData((chunk, isLast) => {
        chunks.push(Buffer.from(chunk.slice(0))); // uWS reuses the chunk's memory
        if (isLast) resolve(Buffer.concat(chunks).toString());
      });
    });
    const slow = sessions('sid', store(new SlowStore(20)), { secret: SECRET, onError });
    const fast = sessions('sid', store(new MemoryStore()), { secret: SECRET, onError });
    let prepares = 0;
    const app2 = [];
    const srv = await serve((app) => {
      for (const [prefix, w] of [['/slow', slow], ['/fast', fast]]) {
        app.post(`${prefix}/login`, w(readBody, async (res, req, s, body) => {
          s.set('user', JSON.parse(await body).user);
          return 'welcome';
        }));
        app.get(`${prefix}/me`, w(() => { prepares++; return 'p'; }, (res, req, s, prepared) => `${s.get('user')} ${prepared}`));
      }
    });
    const tooBig = (res) => new Promise((resolve, reject) => {
      res.onData(() => reject(Object.assign(new Error('body too large'), { status: 413 })));
    });
    for (const [prefix, w] of [['/slow', slow], ['/fast', fast]]) {
      // Rejects before the handler awaits it (the slow store is still loading): no unhandled rejection.
      app2.push([`${prefix}/limited`, w(tooBig, async (res, req, s, body) => {
        try {
          await body;
          return 'accepted';
        } catch (err) {
          return { status: err.status, body: err.message };
        }
      })]);
    }
    const srv2 = await serve((app) => { for (const [p, r] of app2) app.post(p, r); });
    for (const prefix of ['/slow', '/fast']) {
      const jar = new Jar();
      const big = 'x'.repeat(200_000); // several onData chunks
      const r = await request(srv.url, `${prefix}/login`, jar, { method: 'POST', body: JSON.stringify({ user: 'ada', big }) });
      assert.equal(r.status, 200);
      assert.equal(r.body, 'welcome');
      assert.equal((await request(srv.url, `${prefix}/me`, jar)).body, 'ada p');
      // With the cookie, the slow store's load is still running when the body read rejects.
      const limited = await request(srv2.url, `${prefix}/limited`, jar, { method: 'POST', body: 'x'.repeat(1000) });
      assert.equal(limited.status, 413);
      assert.equal(limited.body, 'body too large');
    }
    assert.equal(prepares, 2);
  });

  test('a WebSocket upgrade authenticated by the session (sync and async stores)', async () => {
    const keep = (res, req, context) => ({
      key: req.getHeader('sec-websocket-key'),
      protocol: req.getHeader('sec-websocket-protocol'),
      extensions: req.getHeader('sec-websocket-extensions'),
      context,
    });
    const upgrade = (w) => w(keep, (res, req, s, h) => {
      const user = s.get('user');
      if (user === undefined) return { status: 401, body: 'login first' };
      res.cork(() => res.upgrade({ user }, h.key, h.protocol, h.extensions, h.context));
    });
    const wraps = [['/fast', sessions('sid', store(new MemoryStore()), { secret: SECRET, onError })], ['/slow', sessions('sid', store(new SlowStore(10)), { secret: SECRET, onError })]];
    const srv = await serve((app) => {
      for (const [prefix, w] of wraps) {
        app.get(`${prefix}/login`, w((res, req, s) => { s.set('user', `ada${prefix}`); return 'ok'; }));
        app.ws(`${prefix}/ws`, { upgrade: upgrade(w), open: (ws) => ws.send(`hello ${ws.getUserData().user}`) });
      }
    });
    const connect = (path, cookie) => new Promise((resolve, reject) => {
      const sock = net.connect(srv.port, '127.0.0.1', () => {
        sock.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n${cookie ? `Cookie: ${cookie}\r\n` : ''}\r\n`);
      });
      let buf = Buffer.alloc(0);
      sock.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        const end = buf.indexOf('\r\n\r\n');
        if (end === -1) return;
        const status = Number(buf.subarray(0, end).toString().split(' ')[1]);
        const rest = buf.subarray(end + 4);
        if (status === 101) {
          // One unmasked text frame from the server: 0x81, length (< 126), payload.
          if (rest.length < 2 || rest.length < 2 + rest[1]) return;
          sock.destroy();
          resolve({ status, message: rest.subarray(2, 2 + rest[1]).toString() });
        } else if (rest.toString() === 'login first') {
          sock.destroy();
          resolve({ status, message: rest.toString() });
        }
      });
      sock.on('error', reject);
    });
    for (const [prefix] of wraps) {
      const anonymous = await connect(`${prefix}/ws`);
      assert.deepEqual(anonymous, { status: 401, message: 'login first' });
      const jar = new Jar();
      await request(srv.url, `${prefix}/login`, jar);
      const r = await connect(`${prefix}/ws`, jar.header());
      assert.deepEqual(r, { status: 101, message: `hello ada${prefix}` });
    }
  });

  test('clients that leave mid-request: no crash, no write after abort, the server goes on', async () => {
    const stats = { afterAbort: 0, seen: new Map() };
    // The store delays are far longer than leaving takes: every client leaves mid-request.
    const slowStore = store(new SlowStore(150));
    const memory = store(new MemoryStore());
    const slow = sessions('sid', slowStore, { secret: SECRET, onError });
    const fast = sessions('sid', memory, { secret: SECRET, onError });
    const failingStore = store(new SlowStore(150));
    failingStore.get = async () => {
      await sleep(150);
      throw new Error('backend went away');
    };
    const failing = sessions('sid', failingStore, { secret: SECRET, onError });
    let handled = 0;
    let finished = 0;
    let ownCommits = 0;
    const srv = await serve((app) => {
      // Leaves during the load (a cookie makes the slow store's get run).
      app.get('/during-load', guarded(slow((res, req, s) => { handled++; return 'x'; }), stats));
      // Leaves during an async handler.
      app.get('/during-handler', guarded(fast(async (res, req, s) => {
        count(s);
        await sleep(150);
        finished++;
        return 'late';
      }), stats));
      // Leaves during the commit (the slow store's set).
      app.get('/during-commit', guarded(slow((res, req, s) => { count(s); return 'x'; }), stats));
      // Leaves while a handler that writes res itself waits for its commit.
      app.get('/during-own-commit', guarded(slow(async (res, req, s) => {
        count(s);
        const cookies = await commit(s);
        ownCommits++;
        if (res.aborted) return;
        res.cork(() => {
          for (const c of cookies) res.writeHeader('set-cookie', c);
          res.end('mine');
        });
      }), stats));
      // Leaves while a load that will fail is in flight: the 503 is not written either.
      app.get('/during-failing-load', guarded(failing((res, req, s) => { handled++; return 'x'; }), stats));
      app.get('/ok', slow((res, req, s) => `ok ${count(s)}`));
    });
    const jar = new Jar();
    await request(srv.url, '/ok', jar);
    const cookie = jar.header();
    const setsBefore = slowStore.sets;
    const sizeBefore = memory.size;
    errors.length = 0;
    const paths = ['/during-load', '/during-handler', '/during-commit', '/during-own-commit', '/during-failing-load'];
    await Promise.all(paths.map((p) => leaveOnArrival(srv.port, p, stats, p.endsWith('load') ? cookie : undefined)));
    await waitFor('the handlers and commits in flight', () => finished === 1 && ownCommits === 1 && slowStore.sets >= setsBefore + 2 && errors.length >= 1);
    await sleep(20);
    for (const p of paths) assert.equal(stats.seen.get(p).aborted, true, `${p}: the abort was seen mid-request`);
    assert.equal(handled, 0, 'a handler whose client left while its session loaded never runs');
    assert.deepEqual(errors.map((e) => e.err.cause?.message), ['backend went away'], 'the failed load still reached onError');
    assert.equal(memory.size, sizeBefore + 1, 'the finished handler\'s session was committed');
    assert.equal(stats.afterAbort, 0, 'res was never touched after its abort');
    const r = await request(srv.url, '/ok', jar);
    assert.equal(r.status, 200);
    assert.equal(r.body, 'ok 2', 'a later request works');
  });

  test('1,000 concurrent requests on distinct sessions each get their own session', async () => {
    const N = 1000;
    const slowStore = store(new SlowStore(5));
    const withSession = sessions('sid', slowStore, { secret: SECRET, onError });
    const memoryWrap = sessions('sid', store(new MemoryStore()), { secret: SECRET, onError });
    const srv = await serve((app) => {
      for (const [prefix, w] of [['/slow', withSession], ['/memory', memoryWrap]]) {
        app.get(`${prefix}/set`, w((res, req, s) => { s.set('who', req.getQuery('who')); return 'set'; }));
        app.get(`${prefix}/who`, w(async (res, req, s) => {
          const who = s.get('who');
          await sleep(Math.random() * 5);
          s.set('seen', (s.get('seen') ?? 0) + 1);
          return JSON.stringify({ who, seen: s.get('seen') });
        }));
      }
    });
    for (const prefix of ['/slow', '/memory']) {
      const jars = Array.from({ length: N }, () => new Jar());
      const first = await Promise.all(jars.map((jar, i) => request(srv.url, `${prefix}/set?who=client-${i}`, jar)));
      assert.ok(first.every((r) => r.status === 200 && r.setCookie.length === 1), `${prefix}: every client got a cookie`);
      assert.equal(new Set(jars.map((j) => j.header())).size, N, 'distinct sessions');
      const second = await Promise.all(jars.map((jar) => request(srv.url, `${prefix}/who`, jar)));
      second.forEach((r, i) => {
        assert.equal(r.status, 200);
        assert.deepEqual(r.body, { who: `client-${i}`, seen: 1 }, `${prefix}: client ${i} saw its own session`);
      });
    }
  });
});
