// Live migration from express-session + connect-redis: sessions created by
// the real packages (node-redis client) are read by hotsession with
// legacy: 'read' under the same secret, cookie name and prefix. The user
// stays logged in, and the next save rewrites the record as a hotsession frame.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import express from 'express';
import session from 'express-session';
import { RedisStore as ConnectRedisStore } from 'connect-redis';
import { createClient } from 'redis';
import Redis from 'ioredis';
import { RedisStore } from 'hotsession/redis';
import { startHttp } from '../helpers/http-harness.mjs';
import { Jar, request } from '../helpers/jar.mjs';
import { backend, REDIS_URL } from '../helpers/backends.mjs';
import { dropRedisPrefix } from '../helpers/cleanup.mjs';

const skip = await backend('redis');
const SECRET = 'the express-session secret';
const NAME = 'connect.sid';

describe('migration from express-session + connect-redis', { skip: skip?.reason ?? false }, () => {
  const prefix = `sess:test:${randomBytes(6).toString('hex')}:`;
  let nodeRedis;
  let expressServer;
  let expressUrl;
  let ioredis;
  let store;
  let hot;

  before(async () => {
    nodeRedis = createClient({ url: REDIS_URL });
    nodeRedis.on('error', () => {});
    await nodeRedis.connect();
    const app = express();
    app.use(session({
      store: new ConnectRedisStore({ client: nodeRedis, prefix }),
      secret: SECRET,
      name: NAME,
      resave: false,
      saveUninitialized: false,
      cookie: { maxAge: 3_600_000 },
    }));
    app.get('/login', (req, res) => {
      req.session.user = req.query.user;
      req.session.roles = ['admin', 'ops'];
      req.session.profile = { theme: 'dark', n: 3 };
      res.json({ id: req.sessionID });
    });
    expressServer = app.listen(0, '127.0.0.1');
    await once(expressServer, 'listening');
    expressUrl = `http://127.0.0.1:${expressServer.address().port}`;

    ioredis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    store = new RedisStore({ client: ioredis, prefix, legacy: 'read' });
    hot = await startHttp([{ name: NAME, store }], { secret: SECRET, cookie: { maxAge: 3_600_000 } });
  });
  after(async () => {
    await hot?.close();
    expressServer?.closeAllConnections();
    expressServer?.close();
    await store?.close();
    await ioredis?.quit();
    await nodeRedis?.quit();
    await dropRedisPrefix(REDIS_URL, prefix);
  });

  const login = async (user) => {
    const jar = new Jar();
    const r = await request(expressUrl, `/login?user=${user}`, jar);
    assert.equal(r.status, 200);
    assert.ok(jar.cookies.has(NAME), 'express-session set connect.sid');
    return { jar, id: r.body.id };
  };

  test('a session connect-redis wrote is read by hotsession: the user stays logged in', async () => {
    const { jar, id } = await login('ada');
    const stored = await ioredis.get(prefix + id);
    assert.equal(JSON.parse(stored).user, 'ada', 'connect-redis wrote JSON');
    const r = await request(hot.url, '/all', jar);
    assert.equal(r.status, 200);
    assert.equal(r.body.id, id);
    assert.equal(r.body.isNew, false);
    assert.deepEqual(r.body.data, { user: 'ada', roles: ['admin', 'ops'], profile: { theme: 'dark', n: 3 } }, 'the cookie field is not session data');
    assert.equal(r.setCookie.length, 0, 'reading costs no write');
    assert.equal((await ioredis.getBuffer(prefix + id))[0], 0x7b, 'still JSON until the next save');
  });

  test('the next save rewrites the record as a hotsession frame, data kept', async () => {
    const { jar, id } = await login('bob');
    const r = await request(hot.url, '/set?seen=yes', jar);
    assert.equal(r.status, 200);
    const raw = await ioredis.getBuffer(prefix + id);
    assert.equal(raw[0], 0x68, 'hotsession frame magic');
    const ttl = await ioredis.pttl(prefix + id);
    assert.ok(ttl > 3_500_000 && ttl <= 3_600_000, `PX from the new cookie maxAge: ${ttl}`);
    const after = await request(hot.url, '/all', jar);
    assert.equal(after.body.id, id);
    assert.deepEqual(after.body.data, { user: 'bob', roles: ['admin', 'ops'], profile: { theme: 'dark', n: 3 }, seen: 'yes' });
  });

  test('a legacy record past its cookie expiry is a fresh session', async () => {
    const { jar, id } = await login('eve');
    const rec = JSON.parse(await ioredis.get(prefix + id));
    rec.cookie.expires = new Date(Date.now() - 1000).toISOString();
    await ioredis.set(prefix + id, JSON.stringify(rec), 'EX', 60);
    const r = await request(hot.url, '/all', jar);
    assert.equal(r.body.isNew, true);
    assert.deepEqual(r.body.data, {});
  });

  test('garbage under the key is a fresh session, never a crash', async () => {
    for (const junk of ['{"user":', '[1,2]', 'null', '"str"', 'hello', Buffer.from([0x68, 0, 1, 2]), Buffer.from([0xff, 0xfe])]) {
      const { jar, id } = await login('mallory');
      await ioredis.set(prefix + id, junk, 'EX', 60);
      const r = await request(hot.url, '/all', jar);
      assert.equal(r.status, 200, String(junk));
      assert.equal(r.body.isNew, true, String(junk));
      assert.deepEqual(r.body.data, {});
    }
  });

  test('__proto__, constructor and prototype are dropped at every depth, as every legacy reader does', async () => {
    const cookie = { originalMaxAge: 60_000, expires: new Date(Date.now() + 60_000).toISOString() };
    const texts = [
      `{"cookie":${JSON.stringify(cookie)},"user":"ada","__proto__":{"admin":true},"constructor":{"prototype":{"admin":true}},"prototype":1,`
        + '"profile":{"theme":"dark","__proto__":{"polluted":1},"constructor":2,"list":[{"prototype":3,"ok":4}]}}',
      // The same keys spelled with JSON escapes decode to the same strings.
      `{"cookie":${JSON.stringify(cookie)},"user":"ada","\u005f_proto__":{"admin":true},"constructo\u0072":1,"profile":{"theme":"dark","list":[{"ok":4}]}}`,
    ];
    for (const [i, text] of texts.entries()) {
      await ioredis.set(`${prefix}forbidden${i}`, text, 'EX', 60);
      const got = await store.get(`forbidden${i}`);
      assert.equal(Object.getPrototypeOf(got.data), Object.prototype);
      assert.deepEqual(Object.keys(got.data).sort(), ['profile', 'user'], text);
      assert.equal(got.data.admin, undefined);
      assert.equal(Object.getPrototypeOf(got.data.profile), Object.prototype);
      assert.deepEqual(Object.keys(got.data.profile).sort(), ['list', 'theme']);
      assert.deepEqual(got.data.profile.list, [{ ok: 4 }]);
      assert.equal({}.polluted, undefined);
      await ioredis.del(`${prefix}forbidden${i}`);
    }
  });

  test('without legacy: read, a connect-redis record is not adopted', async () => {
    const strict = new RedisStore({ client: ioredis, prefix });
    const srv = await startHttp([{ name: NAME, store: strict }], { secret: SECRET });
    try {
      const { jar } = await login('zed');
      const r = await request(srv.url, '/all', jar);
      assert.equal(r.body.isNew, true);
    } finally {
      await srv.close();
      await strict.close();
    }
  });
});
