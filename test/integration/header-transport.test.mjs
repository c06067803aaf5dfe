// #18.6: the session token in a request header (x-session-id, or
// Authorization: Bearer), on node:http and uWS, over MemoryStore (synchronous)
// and Redis (asynchronous). The token is the cookie's value, signed the same way.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from 'hotsession';
import { RedisStore } from 'hotsession/redis';
import { CookieStore } from 'hotsession/cookie';
import { sessions as httpSessions, sessionsMany as httpMany } from 'hotsession/http';
import { sessions as uwsSessions, sessionsMany as uwsMany } from 'hotsession/uws';
import { backend, REDIS_URL } from '../helpers/backends.mjs';
import { startHttp } from '../helpers/http-harness.mjs';
import { startUws } from '../helpers/uws-harness.mjs';
import { parseSetCookie } from '../helpers/jar.mjs';
import { dropRedisPrefix } from '../helpers/cleanup.mjs';

const secret = 'header transport test secret, long enough';
const base = { secret, cookie: { secure: false }, onError: () => {} };
const redisSkip = await backend('redis');

/** One request; `send` is the header's value (undefined: none). */
async function call(app, path, header, send, extra = {}) {
  const headers = { ...extra };
  if (send !== undefined) headers[header] = send;
  const res = await fetch(app.url + path, { headers });
  const text = await res.text();
  return {
    status: res.status,
    body: JSON.parse(text),
    token: res.headers.get(header),
    setCookie: res.headers.getSetCookie().map(parseSetCookie),
  };
}

const stacks = [['node:http', startHttp], ['uWS', startUws]];
const transports = [
  { header: 'x-session-id', wrap: (t) => t, unwrap: (v) => v },
  { header: 'authorization', wrap: (t) => `Bearer ${t}`, unwrap: (v) => (v === '' || v === null ? v : v.replace(/^Bearer /, '')) },
];
const stores = [
  { kind: 'memory', skip: undefined, make: () => new MemoryStore() },
  { kind: 'redis', skip: redisSkip, make: () => RedisStore.connect(REDIS_URL, { prefix: `sess:test:header:${process.pid}:` }) },
];

for (const [label, start] of stacks) {
  for (const t of transports) {
    for (const st of stores) {
      describe(`${label}, ${t.header}, ${st.kind}`, { skip: st.skip, timeout: 30_000 }, () => {
        let store, app, only;
        before(async () => {
          store = st.make();
          app = await start([{ name: 'sid', store }], { ...base, header: t.header });
          only = await start([{ name: 'sid', store }], { ...base, header: t.header, headerOnly: true });
        });
        after(async () => {
          await app.close();
          await only.close();
          await store.close();
          if (st.kind === 'redis') await dropRedisPrefix(REDIS_URL, `sess:test:header:${process.pid}:`);
        });

        test('headerOnly: a new session, its token, regenerate, destroy', async () => {
          const created = await call(only, '/set?a=1', t.header, undefined);
          assert.equal(created.status, 200);
          assert.deepEqual(created.setCookie, [], 'a header client never gets a cookie');
          const token = t.unwrap(created.token);
          assert.match(token, /^s%3A[A-Za-z0-9_-]+\.[A-Za-z0-9%]+$/, 'the token is the signed cookie value');
          if (t.header === 'authorization') assert.match(created.token, /^Bearer /);

          const read = await call(only, '/get?k=a', t.header, t.wrap(token));
          assert.equal(read.body.value, '1');
          assert.equal(read.token, null, 'an unchanged token is not sent again');
          const changed = await call(only, '/set?b=2', t.header, t.wrap(token));
          assert.equal(changed.token, null);

          const regen = await call(only, '/regenerate', t.header, t.wrap(token));
          const next = t.unwrap(regen.token);
          assert.ok(next && next !== token, 'regenerate sends the new token');
          assert.equal((await call(only, '/get?k=b', t.header, t.wrap(next))).body.value, '2');
          assert.equal((await call(only, '/get?k=a', t.header, t.wrap(token))).body.value, null, 'the old token is no session');

          const gone = await call(only, '/destroy', t.header, t.wrap(next));
          assert.equal(gone.status, 200);
          assert.equal(gone.token, '', 'destroy says the token is cleared');
          assert.deepEqual(gone.setCookie, []);
          assert.equal((await call(only, '/get?k=b', t.header, t.wrap(next))).body.value, null);
        });

        test('without the header the cookie works as always and no token header is sent', async () => {
          const r = await call(app, '/set?a=1', t.header, undefined);
          assert.equal(r.token, null, 'a cookie client never sees its token in a header (HttpOnly stays meaningful)');
          const c = r.setCookie.find((x) => x.name === 'sid');
          assert.ok(c, 'Set-Cookie sent');
          const again = await call(app, '/get?k=a', t.header, undefined, { cookie: `sid=${c.value}` });
          assert.equal(again.body.value, '1');
          // The same value works as a header token: one signer, one format.
          const viaHeader = await call(app, '/get?k=a', t.header, t.wrap(c.value));
          assert.equal(viaHeader.body.value, '1');
          assert.deepEqual(viaHeader.setCookie, []);
        });

        test('the header wins over the cookie; a refused token is a fresh session answered in the header', async () => {
          const a = t.unwrap((await call(only, '/set?who=header', t.header, undefined)).token);
          const b = (await call(app, '/set?who=cookie', t.header, undefined)).setCookie.find((x) => x.name === 'sid').value;
          const both = await call(app, '/get?k=who', t.header, t.wrap(a), { cookie: `sid=${b}` });
          assert.equal(both.body.value, 'header');

          const forged = a.slice(0, -2) + (a.endsWith('AA') ? 'BB' : 'AA');
          const fresh = await call(app, '/set?x=1', t.header, t.wrap(forged), { cookie: `sid=${b}` });
          assert.equal(fresh.status, 200);
          assert.deepEqual(fresh.setCookie, []);
          const issued = t.unwrap(fresh.token);
          assert.ok(issued && issued !== forged && issued !== a);
          for (const bad of ['x;sid=' + a, 'a b', '', 'a,b']) {
            const r = await call(app, '/id', t.header, t.wrap(bad));
            assert.equal(r.status, 200, JSON.stringify(bad));
            assert.equal(r.body.isNew, true, JSON.stringify(bad));
          }
        });

        if (t.header === 'authorization') {
          test('another Authorization scheme is not ours: the cookie applies', async () => {
            const b = (await call(app, '/set?who=cookie', t.header, undefined)).setCookie.find((x) => x.name === 'sid').value;
            const r = await call(app, '/get?k=who', t.header, 'Basic dXNlcjpwYXNz', { cookie: `sid=${b}` });
            assert.equal(r.body.value, 'cookie');
            assert.equal(r.token, null);
            const lower = await call(app, '/get?k=who', t.header, `bearer ${b}`);
            assert.equal(lower.body.value, 'cookie', 'the scheme is case-insensitive');
          });
        }
      });
    }
  }
}

test('bad header options fail fast with a coded error', () => {
  const store = new MemoryStore();
  const cookieStore = new CookieStore({ secret: 'a cookie store secret of at least thirty-two bytes!' });
  for (const make of [
    () => httpSessions('sid', cookieStore, { secret, header: 'x-session-id' }),
    () => uwsSessions('sid', cookieStore, { secret, header: 'x-session-id' }),
    () => httpMany(['a', 'b'], store, { secret, header: 'x-session-id' }),
    () => uwsMany(['a', 'b'], store, { secret, header: 'x-session-id' }),
    () => httpSessions('sid', store, { secret, header: 'bad header' }),
    () => httpSessions('sid', store, { secret, header: 'cookie' }),
    () => httpSessions('sid', store, { secret, headerOnly: true }),
  ]) assert.throws(make, { code: 'HOTSESSION_ERR_OPTIONS' });
});
