// One behaviour across the node:http and uWS adapters (#16 item 5): the same
// status for the same failure (store unavailable: errorStatus, 503 by
// default; data that cannot be stored, such as a session too large for its
// cookies: 500), the same onError(err, source) hook with the same default,
// the same option checks.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { MemoryStore, codes } from 'hotsession';
import { CookieStore } from 'hotsession/cookie';
import * as hHttp from 'hotsession/http';
import * as hUws from 'hotsession/uws';
import { listen } from '../helpers/uws-harness.mjs';

const SECRET = 'adapter errors secret, long enough';
const closers = [];
after(async () => {
  for (const c of closers.reverse()) await c();
});

/** A memory store whose writes fail as an unreachable store's would. */
class DownStore extends MemoryStore {
  set() {
    return Promise.reject(new Error('connection refused'));
  }
  patch() {
    return Promise.reject(new Error('connection refused'));
  }
}

const tooBig = () => randomBytes(24_000).toString('base64');

/** An http server whose one route stores `value()` in a fresh session under `mw`. */
async function httpApp(store, options) {
  const mw = hHttp.sessions('sid', store, { secret: SECRET, ...options });
  const server = http.createServer((req, res) => mw(req, res, () => {
    hHttp.getSession(req).set('blob', req.url === '/big' ? tooBig() : 'small');
    res.end('saved');
  }));
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise((r) => server.close(r)));
  return `http://127.0.0.1:${server.address().port}`;
}

/** The same route on uWS. */
async function uwsApp(store, options) {
  const withSession = hUws.sessions('sid', store, { secret: SECRET, ...options });
  const srv = await listen((app) => app.get('/*', withSession((res, req, s) => {
    s.set('blob', req.getUrl() === '/big' ? tooBig() : 'small');
    return 'saved';
  })));
  closers.push(() => srv.close());
  return srv.url;
}

const adapters = [['node:http', httpApp], ['uWS', uwsApp]];

for (const [label, start] of adapters) {
  describe(`${label}: error statuses`, () => {
    test('a session too large for its cookies answers 500, reported to onError as (err, "store")', async () => {
      const seen = [];
      const base = await start(new CookieStore({ keys: [randomBytes(32)] }), { onError: (err, source) => seen.push([err.code, source]) });
      const ok = await fetch(`${base}/small`);
      assert.equal(ok.status, 200);
      const res = await fetch(`${base}/big`);
      assert.equal(res.status, 500);
      assert.equal(await res.text(), 'Internal Server Error');
      assert.equal(res.headers.getSetCookie().length, 0);
      assert.deepEqual(seen, [[codes.COOKIE_TOO_LARGE, 'store']]);
    });

    test('an unavailable store answers errorStatus: 503 by default, the option when set', async () => {
      const seen = [];
      const base = await start(new DownStore(), { onError: (err, source) => seen.push([err.code, source]) });
      const res = await fetch(`${base}/small`);
      assert.equal(res.status, 503);
      assert.equal(await res.text(), 'Service Unavailable');
      assert.deepEqual(seen, [[codes.STORE, 'store']]);
      const custom = await start(new DownStore(), { errorStatus: 502, onError: () => {} });
      assert.equal((await fetch(`${custom}/small`)).status, 502);
    });

    test('onError defaults to console.error, naming the adapter and the source', async () => {
      const logged = [];
      const original = console.error;
      console.error = (...args) => logged.push(args);
      try {
        const base = await start(new DownStore(), {});
        assert.equal((await fetch(`${base}/small`)).status, 503);
      } finally {
        console.error = original;
      }
      assert.equal(logged.length, 1);
      assert.match(logged[0][0], /^hotsession\/(http|uws): store error:$/);
      assert.equal(logged[0][1].code, codes.STORE);
    });
  });
}

for (const [label, mod] of [['node:http', hHttp], ['uWS', hUws]]) {
  test(`${label}: errorStatus, onError and sessionsMany names are checked when the middleware is made`, () => {
    const store = new MemoryStore();
    for (const errorStatus of [200, 600, 503.5, '503']) {
      assert.throws(() => mod.sessions('sid', store, { secret: SECRET, errorStatus }), { code: codes.OPTIONS }, String(errorStatus));
    }
    assert.throws(() => mod.sessions('sid', store, { secret: SECRET, onError: 'log' }), { code: codes.OPTIONS });
    assert.throws(() => mod.sessionsMany('sid', store, { secret: SECRET }), { code: codes.OPTIONS });
    assert.throws(() => mod.sessionsMany([], store, { secret: SECRET }), { code: codes.OPTIONS });
    assert.throws(() => mod.sessionsMany(['a', 'a'], store, { secret: SECRET }), { code: codes.OPTIONS });
    store.close();
  });
}

test('node:http: onError gets the request as its third argument', async () => {
  const seen = [];
  const base = await httpApp(new DownStore(), { onError: (err, source, req) => seen.push([source, req instanceof http.IncomingMessage, req.url]) });
  assert.equal((await fetch(`${base}/small`)).status, 503);
  assert.deepEqual(seen, [['store', true, '/small']]);
});
