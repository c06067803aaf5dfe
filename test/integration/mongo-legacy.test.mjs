// Live migration from express-session + connect-mongo: sessions written by
// the real connect-mongo through a real express-session app are read by
// hotsession's node:http middleware (same secret, same cookie name, same
// collection) with `legacy: 'read'`, and rewritten in hotsession's format
// on their next change.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { MongoClient } from 'mongodb';
import { MongoStore } from 'hotsession/mongo';
import { startHttp } from '../helpers/http-harness.mjs';
import { Jar, request } from '../helpers/jar.mjs';
import { backend, MONGODB_URL } from '../helpers/backends.mjs';

const require = createRequire(import.meta.url);
const express = require('express');
const expressSession = require('express-session');
const cm = require('connect-mongo');
const ConnectMongo = cm.default ?? cm;

const skip = await backend('mongo');
const SECRET = 'shared migration secret';
const dbName = `hotsession_legacy_${randomBytes(5).toString('hex')}`;

async function startExpress(store, cookie = {}) {
  const app = express();
  app.use(expressSession({ secret: SECRET, store, resave: false, saveUninitialized: false, cookie }));
  app.get('/login', (req, res) => {
    req.session.user = 'ada';
    req.session.roles = ['admin', 'dev'];
    req.session.visits = 3;
    res.json({ id: req.sessionID });
  });
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }) };
}

describe('connect-mongo sessions read by hotsession (legacy: read)', { skip: skip?.reason ?? false }, () => {
  let client;
  const closers = [];
  before(async () => {
    client = new MongoClient(MONGODB_URL, { serverSelectionTimeoutMS: 2000 });
    await client.connect();
  });
  after(async () => {
    for (const c of closers.reverse()) await c();
    await client.db(dbName).dropDatabase();
    await client.close();
  });

  for (const stringify of [true, false]) {
    test(`connect-mongo (stringify: ${stringify}) -> hotsession, then rewritten on change`, async () => {
      const collection = `sessions_${stringify}`;
      // autoRemove 'disabled': connect-mongo's own TTL index would fail on FerretDB (no TTL indexes).
      const legacyStore = ConnectMongo.create({ client, dbName, collectionName: collection, stringify, autoRemove: 'disabled' });
      const old = await startExpress(legacyStore, { maxAge: 3_600_000 });
      closers.push(old.close);
      const store = new MongoStore({ client, dbName, collection, legacy: 'read', autoRemove: 'disabled' });
      closers.push(() => store.close());
      const hot = await startHttp([{ name: 'connect.sid', store }], { secret: SECRET });
      closers.push(hot.close);

      const jar = new Jar();
      const login = await request(old.url, '/login', jar);
      assert.equal(login.status, 200);
      assert.ok(jar.cookies.has('connect.sid'), 'express-session set connect.sid');
      const raw = await client.db(dbName).collection(collection).findOne({ _id: login.body.id });
      assert.equal(typeof raw.session, stringify ? 'string' : 'object', 'the document is connect-mongo\'s own');

      const r = await request(hot.url, '/all', jar);
      assert.equal(r.status, 200);
      assert.equal(r.body.isNew, false);
      assert.equal(r.body.id, login.body.id, 'same session id');
      assert.deepEqual(r.body.data, { user: 'ada', roles: ['admin', 'dev'], visits: 3 }, 'data without express-session\'s cookie member');
      assert.equal(r.setCookie.length, 0, 'a read changes nothing');

      const w = await request(hot.url, '/set?theme=dark', jar);
      assert.equal(w.status, 200);
      const doc = await client.db(dbName).collection(collection).findOne({ _id: login.body.id });
      assert.equal(doc.session, undefined, 'rewritten in hotsession format');
      // The per-key shape (src/stores/mongo/shape.ts): one BinData field per session key under `s`.
      assert.equal(doc.record, undefined);
      assert.deepEqual(Object.keys(doc.s).sort(), ['roles', 'theme', 'user', 'visits']);
      assert.equal(doc.s.user._bsontype, 'Binary');
      const after = await request(hot.url, '/all', jar);
      assert.equal(after.body.id, login.body.id);
      assert.deepEqual(after.body.data, { user: 'ada', roles: ['admin', 'dev'], visits: 3, theme: 'dark' });

      // Without legacy: 'read' the same kind of document is a fresh session, never an error.
      const plain = new MongoStore({ client, dbName, collection, autoRemove: 'disabled' });
      closers.push(() => plain.close());
      const hotPlain = await startHttp([{ name: 'connect.sid', store: plain }], { secret: SECRET });
      closers.push(hotPlain.close);
      const jar2 = new Jar();
      await request(old.url, '/login', jar2);
      const fresh = await request(hotPlain.url, '/all', jar2);
      assert.equal(fresh.status, 200);
      assert.equal(fresh.body.isNew, true);
    });
  }

  test('an expired connect-mongo session is a fresh session', async () => {
    const collection = 'sessions_expiring';
    const legacyStore = ConnectMongo.create({ client, dbName, collectionName: collection, autoRemove: 'disabled' });
    const old = await startExpress(legacyStore, { maxAge: 300 });
    closers.push(old.close);
    const store = new MongoStore({ client, dbName, collection, legacy: 'read', autoRemove: 'disabled' });
    closers.push(() => store.close());
    const hot = await startHttp([{ name: 'connect.sid', store }], { secret: SECRET });
    closers.push(hot.close);
    const jar = new Jar();
    const login = await request(old.url, '/login', jar);
    assert.deepEqual((await request(hot.url, '/get?k=user', jar)).body, { value: 'ada' });
    await sleep(500);
    const r = await request(hot.url, '/all', jar);
    assert.equal(r.body.isNew, true);
    assert.notEqual(r.body.id, login.body.id);
  });
});
