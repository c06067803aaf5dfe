// Migration from express-session + connect-memcached: records written by the
// real connect-memcached through a real express-session app are read by
// hotsession (same secret, same cookie name) with `legacy: 'read'`, and
// rewritten in hotsession's format at their next save.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import memjs from 'memjs';
import { MemcachedStore } from 'hotsession/memcached';
import { startHttp } from '../helpers/http-harness.mjs';
import { Jar, request } from '../helpers/jar.mjs';
import { memcachedBinary, startMemcached } from '../helpers/memcached-procs.mjs';

const require = createRequire(import.meta.url);
const SECRET = 'migrating secret';
const PREFIX = 'legacy:';

describe('legacy: read of connect-memcached records', { skip: memcachedBinary()?.reason ?? false }, () => {
  let mc;
  let express;
  let cmStore;
  let hot;
  let plain;
  let hotSrv;
  let plainSrv;
  let raw;
  before(async () => {
    mc = await startMemcached();
    const app = require('express')();
    const session = require('express-session');
    const MemcachedSessionStore = require('connect-memcached')(session);
    cmStore = new MemcachedSessionStore({ hosts: [mc.servers], prefix: PREFIX });
    app.use(session({ store: cmStore, secret: SECRET, resave: false, saveUninitialized: false, cookie: { maxAge: 60_000 } }));
    app.get('/login', (req, res) => {
      req.session.user = 'ada';
      req.session.roles = ['admin', 'ops'];
      req.session.n = 3;
      res.json({ id: req.sessionID });
    });
    app.get('/whoami', (req, res) => res.json({ user: req.session.user ?? null }));
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    express = { server, url: `http://127.0.0.1:${server.address().port}` };
    hot = new MemcachedStore({ servers: mc.servers, prefix: PREFIX, legacy: 'read' });
    plain = new MemcachedStore({ servers: mc.servers, prefix: PREFIX });
    hotSrv = await startHttp([{ name: 'connect.sid', store: hot }], { secret: SECRET });
    plainSrv = await startHttp([{ name: 'connect.sid', store: plain }], { secret: SECRET });
    raw = memjs.Client.create(mc.servers, { retries: 0, logger: { log() {} } });
  });
  after(async () => {
    express?.server.closeAllConnections();
    express?.server.close();
    cmStore?.client.end();
    await hotSrv?.close();
    await plainSrv?.close();
    await hot?.close();
    await plain?.close();
    raw?.close();
    await mc?.destroy();
  });

  const login = async () => {
    const jar = new Jar();
    const r = await request(express.url, '/login', jar);
    assert.equal(r.status, 200);
    assert.ok(jar.header()?.startsWith('connect.sid=s%3A'), 'express-session set its signed cookie');
    return { jar, id: r.body.id };
  };

  test('a session connect-memcached wrote is read as the same session', async () => {
    const { jar, id } = await login();
    const { value } = await raw.get(PREFIX + id);
    assert.equal(String.fromCharCode(value[0]), '{', 'connect-memcached stored JSON');
    const r = await request(hotSrv.url, '/all', jar);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.data, { user: 'ada', roles: ['admin', 'ops'], n: 3 }, 'cookie metadata is not session data');
    assert.equal(r.body.id, id, 'same id: the user stays logged in');
    assert.equal(r.body.isNew, false);
    assert.equal(r.setCookie.length, 0, 'reading does not rewrite');
  });

  test('the next save rewrites it in hotsession format, data kept', async () => {
    const { jar, id } = await login();
    await request(hotSrv.url, '/set?x=1', jar);
    const { value } = await raw.get(PREFIX + id);
    assert.equal(value[0], 0x68, 'now a hotsession frame');
    const r = await request(hotSrv.url, '/all', jar);
    assert.deepEqual(r.body.data, { user: 'ada', roles: ['admin', 'ops'], n: 3, x: '1' });
    assert.equal(r.body.id, id);
    // Either store reads the frame now, legacy or not.
    assert.deepEqual((await request(plainSrv.url, '/all', jar)).body.data, r.body.data);
  });

  test('a legacy record whose cookie expired is a fresh session', async () => {
    const { jar, id } = await login();
    const { value } = await raw.get(PREFIX + id);
    const sess = JSON.parse(value.toString());
    sess.cookie.expires = new Date(Date.now() - 1000).toISOString();
    await raw.set(PREFIX + id, Buffer.from(JSON.stringify(sess)), { expires: 60 });
    const r = await request(hotSrv.url, '/all', jar);
    assert.deepEqual(r.body.data, {});
    assert.equal(r.body.isNew, true);
    assert.notEqual(r.body.id, id);
  });

  test('without legacy: read, the JSON record is a fresh session, never an error', async () => {
    const { jar, id } = await login();
    const r = await request(plainSrv.url, '/all', jar);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.data, {});
    assert.notEqual(r.body.id, id);
  });

  test('a destroy through hotsession logs the user out of the express app too', async () => {
    const { jar } = await login();
    assert.equal((await request(express.url, '/whoami', jar)).body.user, 'ada');
    const old = jar.header();
    await request(hotSrv.url, '/destroy', jar);
    assert.equal((await request(express.url, '/whoami', null, { headers: { cookie: old } })).body.user, null);
  });
});
