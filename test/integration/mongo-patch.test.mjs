// MongoStore.patch / .forward against the server at MONGODB_URL (FerretDB
// here): the shared contract in both atomicity modes, then the document
// shape (a field per session key, escaped names), upgrades of v1 and
// connect-mongo documents by a CLEAR patch, the one legacy rule (#14.4),
// batching of a turn's patches, read-backs after a partial failure, session
// locks, and record size limits. A database of its own, dropped at the end.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { MongoStore } from 'hotsession/mongo';
import { backend, MONGODB_URL } from '../helpers/backends.mjs';
import { freePort } from '../helpers/procs.mjs';
import { asMap, forwardTarget, marker, newId, patch, patchContract, record, v1Frame, valueOf } from '../helpers/patch-contract.mjs';

const skip = await backend('mongo');
const dbName = `hotsession_patch_${randomBytes(5).toString('hex')}`;
const TTL = 60_000;

let ferret = false;
if (!skip) {
  const c = new MongoClient(MONGODB_URL, { serverSelectionTimeoutMS: 2000 });
  try {
    ferret = typeof (await c.db('admin').command({ buildInfo: 1 })).ferretdbVersion === 'string';
  } finally {
    await c.close();
  }
}

async function dropDb() {
  const c = new MongoClient(MONGODB_URL, { serverSelectionTimeoutMS: 2000 });
  try {
    await c.db(dbName).dropDatabase();
  } finally {
    await c.close();
  }
}

patchContract("MongoStore, atomicity 'lock' (4 instances)", {
  skip,
  makeStore: () => new MongoStore({ url: MONGODB_URL, dbName, collection: 'lock', atomicity: 'lock', autoRemove: 'disabled' }),
  cleanup: dropDb,
});

// FerretDB v1's updates are not atomic between connections (mongo/locked.ts): there the
// races run from one instance, whose batcher orders its writes; on MongoDB from four.
patchContract(`MongoStore, atomicity 'update' (${ferret ? 'one instance: FerretDB' : '4 instances'})`, {
  skip,
  crossInstance: !ferret,
  makeStore: () => new MongoStore({ url: MONGODB_URL, dbName, collection: 'update', atomicity: 'update', autoRemove: 'disabled' }),
  cleanup: dropDb,
});

describe('MongoStore patches', { skip: skip?.reason ?? false }, () => {
  let client;
  let commands;
  let n = 0;
  const stores = [];
  const make = (o = {}) => {
    const s = new MongoStore({ client, dbName, collection: `m${n++}`, autoRemove: 'disabled', ...o });
    stores.push(s);
    return s;
  };
  const raw = (s) => s.collection;
  const count = (name, col) => commands.filter((c) => c.commandName === name && c.databaseName === dbName && (col === undefined || c.command[name] === col)).length;

  before(async () => {
    client = new MongoClient(MONGODB_URL, { serverSelectionTimeoutMS: 2000, monitorCommands: true });
    commands = [];
    client.on('commandStarted', (e) => commands.push(e));
    await client.connect();
  });
  after(async () => {
    for (const s of stores) await s.close();
    await client.db(dbName).dropDatabase();
    await client.close();
  });

  test('atomicity is detected from the server (FerretDB: lock, otherwise update) unless given', async () => {
    const s = make();
    assert.equal(s.atomicity, null);
    await s.ready();
    assert.equal(s.atomicity, ferret ? 'lock' : 'update');
    assert.equal(make({ atomicity: 'update' }).atomicity, 'update');
  });

  for (const atomicity of ['update', 'lock']) {
    test(`${atomicity}: a session is a document with a field per key (escaped), the header as numbers, values as BinData`, async () => {
      const s = make({ atomicity });
      const id = newId();
      await s.set(id, record({ user: 'ada', 'a.b': 1, $x: 2, '%': 3, '': 4, 'n\0ul': 5 }, { expiresAt: 9e12, createdAt: 1234 }), TTL);
      assert.equal(await s.patch(id, patch({ set: { 'a.b': 10, theme: 'dark' }, del: ['$x'], expiresAt: 9e12, createdAt: 1234 }), TTL), 'ok');
      const doc = await raw(s).findOne({ _id: id });
      assert.deepEqual(Object.keys(doc).sort(), ['_id', 'expires', 'hc', 'ht', 'hx', 's']);
      assert.deepEqual([doc.hx, doc.hc], [9e12, 1234]);
      assert.deepEqual(Object.keys(doc.s).sort(), ['%', '%25', 'a%2Eb', 'n%00ul', 'theme', 'user']);
      assert.ok(Object.values(doc.s).every((v) => v._bsontype === 'Binary'));
      const got = await s.get(id);
      assert.deepEqual([valueOf(got, 'a.b'), valueOf(got, '$x'), valueOf(got, '%'), valueOf(got, ''), valueOf(got, 'n\0ul'), valueOf(got, 'theme')], [10, undefined, 3, 4, 5, 'dark']);
    });

    test(`${atomicity}: a v1 document ({ record }) is stale to a plain patch and becomes a v2 document with CLEAR`, async () => {
      const s = make({ atomicity });
      const id = newId();
      await s.set(id, v1Frame({ user: 'ada' }), TTL);
      assert.ok((await raw(s).findOne({ _id: id })).record, 'a v1 frame is kept as a record field');
      assert.equal(await s.patch(id, patch({ set: { n: 1 } }), TTL), 'stale');
      assert.equal(await s.patch(id, patch({ set: { user: 'ada', n: 1 }, clear: true }), TTL), 'ok');
      const doc = await raw(s).findOne({ _id: id });
      assert.equal(doc.record, undefined, 'the v1 field is gone');
      assert.deepEqual(Object.keys(doc.s).sort(), ['n', 'user']);
    });

    test(`${atomicity}: a connect-mongo document (legacy: read) is stale to a plain patch, then upgraded by CLEAR (its session field removed)`, async () => {
      const s = make({ atomicity, legacy: 'read' });
      const id = newId();
      await raw(s).insertOne({ _id: id, expires: new Date(Date.now() + TTL), session: JSON.stringify({ cookie: { path: '/' }, user: 'ada' }) });
      assert.deepEqual((await s.get(id)).data, { user: 'ada' });
      assert.equal(await s.patch(id, patch({ set: { n: 1 } }), TTL), 'stale');
      assert.equal(typeof (await raw(s).findOne({ _id: id })).session, 'string', 'untouched');
      assert.equal(await s.patch(id, patch({ set: { user: 'ada', n: 1 }, clear: true }), TTL), 'ok');
      const doc = await raw(s).findOne({ _id: id });
      assert.equal(doc.session, undefined);
      assert.deepEqual(Object.keys(doc.s).sort(), ['n', 'user']);
      assert.deepEqual([valueOf(await s.get(id), 'user'), valueOf(await s.get(id), 'n')], ['ada', 1]);
    });

    test(`${atomicity}: a turn's patches with gone, stale and moved ones among them: each gets its own outcome`, async () => {
      const s = make({ atomicity });
      const ids = Array.from({ length: 8 }, newId);
      const to = newId();
      await Promise.all(ids.slice(0, 5).map((id) => s.set(id, record({ v: 0 }), TTL)));
      await s.set(ids[5], v1Frame({ v: 0 }), TTL);
      await s.set(ids[6], record({ v: 0 }), TTL);
      await s.forward(ids[6], marker(to), 5000);
      const outcomes = await Promise.all(ids.map((id, i) => s.patch(id, patch({ set: { v: i } }), TTL)));
      assert.deepEqual(outcomes, ['ok', 'ok', 'ok', 'ok', 'ok', 'stale', { movedTo: to }, 'gone']);
      assert.deepEqual(await Promise.all(ids.slice(0, 5).map(async (id) => valueOf(await s.get(id), 'v'))), [0, 1, 2, 3, 4]);
    });

    test(`${atomicity}: a write refused in a turn rejects alone; patches reported saved are stored (read-back of the new shape)`, async () => {
      const s = make({ atomicity });
      await s.ready();
      const ids = Array.from({ length: 4 }, newId);
      await Promise.all(ids.map((id, i) => s.set(id, record({ v: 0 }), TTL + i * 1000)));
      // The patches of one batch get one expires (one clock reading): a unique index makes all but one fail.
      await raw(s).createIndex({ expires: 1 }, { unique: true, name: 'force_conflict' });
      const results = await Promise.allSettled(ids.map((id) => s.patch(id, patch({ set: { v: 1 } }), TTL)));
      const ok = results.map((r) => r.status === 'fulfilled');
      assert.ok(ok.filter(Boolean).length <= 1, JSON.stringify(results.map((r) => r.value ?? r.reason?.code)));
      for (const r of results) if (r.status === 'rejected') assert.equal(r.reason.code, 'HOTSESSION_ERR_STORE');
      for (const [i, id] of ids.entries()) {
        const v = valueOf(await s.get(id), 'v');
        if (ok[i]) assert.equal(v, 1, 'reported saved: stored');
        assert.ok(v === 0 || v === 1);
      }
      await raw(s).dropIndex('force_conflict');
    });
  }

  test("update: a turn's patches go as one unordered bulk (one update command)", async () => {
    const s = make({ atomicity: 'update', lookup: 'in' });
    const ids = Array.from({ length: 10 }, newId);
    await Promise.all(ids.map((id) => s.set(id, record({ v: 0 }), TTL)));
    const u0 = count('update');
    const f0 = count('find');
    assert.deepEqual([...new Set(await Promise.all(ids.map((id, i) => s.patch(id, patch({ set: { v: i } }), TTL))))], ['ok']);
    assert.equal(count('update') - u0, 1);
    assert.equal(count('find') - f0, 0, 'nothing read back when every patch matched');
    const sent = commands.filter((c) => c.commandName === 'update').at(-1).command;
    assert.equal(sent.ordered, false);
    assert.equal(sent.updates.length, 10);
    assert.ok(sent.updates.every((u) => u.upsert !== true && u.q._id !== undefined && u.q.expires?.$gt instanceof Date), 'conditional, never an upsert');
  });

  test('lock: a turn takes its locks in one insert, releases them in one delete, and leaves none behind', async () => {
    const s = make({ atomicity: 'lock' });
    const ids = Array.from({ length: 10 }, newId);
    await Promise.all(ids.map((id) => s.set(id, record({ v: 0 }), TTL)));
    const locks = `${raw(s).collectionName}.locks`;
    const i0 = count('insert', locks);
    const d0 = count('delete', locks);
    await Promise.all(ids.map((id, i) => s.patch(id, patch({ set: { v: i } }), TTL)));
    assert.equal(count('insert', locks) - i0, 1);
    assert.equal(count('delete', locks) - d0, 1);
    assert.equal(await client.db(dbName).collection(locks).countDocuments(), 0);
  });

  test('lock: a session locked by another process: bounded retries, then HOTSESSION_ERR_CONFLICT, nothing written; a lock past its lease is broken', async () => {
    const s = make({ atomicity: 'lock', timeout: 5000 });
    const id = newId();
    await s.set(id, record({ v: 0 }), TTL);
    const locks = client.db(dbName).collection(`${raw(s).collectionName}.locks`);
    await locks.insertOne({ _id: id, until: new Date(Date.now() + 60_000), by: 'another process' });
    const t0 = Date.now();
    assert.equal((await s.patch(id, patch({ set: { v: 1 } }), TTL).catch((e) => e)).code, 'HOTSESSION_ERR_CONFLICT');
    assert.ok(Date.now() - t0 < 5000);
    assert.equal((await s.forward(id, marker(newId()), 5000).catch((e) => e)).code, 'HOTSESSION_ERR_CONFLICT');
    assert.equal(valueOf(await s.get(id), 'v'), 0, 'nothing written');
    assert.equal((await locks.findOne({ _id: id })).by, 'another process', 'a live lock of another process is not taken over');
    // The holder died: its lease ran out.
    await locks.updateOne({ _id: id }, { $set: { until: new Date(Date.now() - 1) } });
    assert.equal(await s.patch(id, patch({ set: { v: 1 } }), TTL), 'ok');
    assert.equal(valueOf(await s.get(id), 'v'), 1);
    assert.equal(await locks.countDocuments(), 0);
  });

  test('lock: sweep() removes session locks past their lease', async () => {
    const s = make({ atomicity: 'lock' });
    await s.ready();
    const locks = client.db(dbName).collection(`${raw(s).collectionName}.locks`);
    await locks.insertMany([{ _id: 'dead', until: new Date(Date.now() - 1), by: 'x' }, { _id: 'held', until: new Date(Date.now() + 60_000), by: 'y' }]);
    await s.sweep();
    assert.deepEqual((await locks.find().toArray()).map((l) => l._id), ['held']);
  });

  test('lock: a patch whose record would exceed maxRecordSize fails before it is written', async () => {
    const s = make({ atomicity: 'lock', maxRecordSize: 4096 });
    const id = newId();
    await s.set(id, record({ a: 'x'.repeat(2500) }), TTL);
    assert.equal((await s.patch(id, patch({ set: { b: 'y'.repeat(2500) } }), TTL).catch((e) => e)).code, 'HOTSESSION_ERR_RECORD_TOO_LARGE');
    assert.deepEqual([...asMap(await s.get(id)).entries.keys()], ['a']);
    assert.equal(await s.patch(id, patch({ set: { a: 'small', b: 'y'.repeat(2500) } }), TTL), 'ok', 'replacing a key counts its new size only');
  });

  test('maxRecordSize: a set or a patch over it fails before anything is sent; the option is bounded by the document limit', async () => {
    const offline = new MongoStore({ url: `mongodb://127.0.0.1:${await freePort()}`, dbName, maxRecordSize: 4096, timeout: 300 });
    stores.push(offline);
    assert.equal(offline.maxRecordSize, 4096);
    assert.equal((await offline.set(newId(), record({ b: 'x'.repeat(5000) }), TTL).catch((e) => e)).code, 'HOTSESSION_ERR_RECORD_TOO_LARGE');
    assert.equal((await offline.patch(newId(), patch({ set: { b: 'x'.repeat(5000) } }), TTL).catch((e) => e)).code, 'HOTSESSION_ERR_RECORD_TOO_LARGE');
    assert.equal(make().maxRecordSize, 8 * 1024 * 1024);
    for (const maxRecordSize of [16 * 1024 * 1024, 10, 1.5]) {
      assert.throws(() => new MongoStore({ client, maxRecordSize }), { code: 'HOTSESSION_ERR_OPTIONS' }, String(maxRecordSize));
    }
    assert.throws(() => new MongoStore({ client, atomicity: 'cas' }), { code: 'HOTSESSION_ERR_OPTIONS' });
  });

  test('a malformed patch or marker is refused before anything is sent', async () => {
    const s = make();
    assert.equal((await s.patch(newId(), record({ a: 1 }), TTL).catch((e) => e)).code, 'HOTSESSION_ERR_ENCODE');
    assert.equal((await s.forward(newId(), record({ a: 1 }), TTL).catch((e) => e)).code, 'HOTSESSION_ERR_ENCODE');
  });

  test('hostile documents read as absent or without the bad fields, never a crash', async () => {
    const s = make();
    const expires = new Date(Date.now() + TTL);
    const good = Buffer.from([0xc3]);
    await raw(s).insertMany([
      { _id: 'no-header', expires, s: { a: good } },
      { _id: 'bad-header', expires, hx: -1, hc: 0, ht: 0, s: { a: good } },
      { _id: 's-array', expires, hx: 0, hc: 0, ht: 0, s: [good] },
      { _id: 'mixed', expires, hx: 0, hc: 5, ht: 7, s: { a: good, b: 'not binary', 'c%ZZ': good, constructor: good } },
      { _id: 'fwd-garbage', expires, fwd: Buffer.from('junk') },
    ]);
    for (const id of ['no-header', 'bad-header', 's-array']) assert.equal(await s.get(id), null, id);
    assert.deepEqual([...asMap(await s.get('mixed')).entries.keys()], ['a'], 'only the field this store could have written');
    assert.equal(forwardTarget(await s.get('fwd-garbage')), null, 'bytes the core rejects');
    assert.equal(await s.patch('fwd-garbage', patch({ set: { x: 1 } }), TTL), 'gone');
  });

  test('legacy documents follow the one rule: __proto__, constructor, prototype dropped at any depth (JSON text and objects)', async () => {
    const s = make({ legacy: 'read' });
    const expires = new Date(Date.now() + TTL);
    const text = '{"cookie":{},"__proto__":{"admin":true},"constructor":1,"user":{"name":"ada","__proto__":{"admin":true},"list":[{"prototype":1,"ok":true}]},"deep":' + '['.repeat(70) + ']'.repeat(70) + '}';
    await raw(s).insertMany([
      { _id: 'text', expires, session: text },
      { _id: 'object', expires, session: { cookie: {}, prototype: 1, user: { name: 'ada', constructor: 'x', list: [{ ok: true, constructor: 2 }] } } },
    ]);
    assert.deepEqual((await s.get('text')).data, { user: { name: 'ada', list: [{ ok: true }] } });
    assert.deepEqual((await s.get('object')).data, { user: { name: 'ada', list: [{ ok: true }] } });
    assert.equal({}.admin, undefined);
  });
});
