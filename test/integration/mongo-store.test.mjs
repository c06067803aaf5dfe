// MongoStore behaviour beyond the conformance suite, against the real server
// at MONGODB_URL (FerretDB here, MongoDB wherever it points at one). Round
// trips are counted with the driver's own command monitoring, not a mock.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { MongoClient } from 'mongodb';
import { MongoStore } from 'hotsession/mongo';
import { backend, MONGODB_URL } from '../helpers/backends.mjs';

const skip = await backend('mongo');
const dbName = `hotsession_store_${randomBytes(5).toString('hex')}`;
const id = () => randomBytes(24).toString('base64url');
const rec = (n = 16, fill = 7) => new Uint8Array(n).fill(fill);

describe('MongoStore', { skip: skip?.reason ?? false }, () => {
  let client;
  let commands;
  let n = 0;
  let ferret = false;
  const stores = [];
  const make = (o = {}) => {
    const s = new MongoStore({ client, dbName, collection: `c${n++}`, autoRemove: 'disabled', ...o });
    stores.push(s);
    return s;
  };
  const col = (s) => s.collection;

  before(async () => {
    client = new MongoClient(MONGODB_URL, { serverSelectionTimeoutMS: 2000, monitorCommands: true });
    commands = [];
    client.on('commandStarted', (e) => commands.push(e));
    await client.connect();
    ferret = typeof (await client.db(dbName).command({ buildInfo: 1 })).ferretdbVersion === 'string';
  });
  after(async () => {
    for (const s of stores) await s.close();
    await client.db(dbName).dropDatabase();
    await client.close();
  });
  const count = (name) => commands.filter((c) => c.commandName === name && c.databaseName === dbName).length;

  test('the writes of one turn go out as one unordered bulk; the reads of one turn as one find', async () => {
    const s = make({ lookup: 'in' });
    await s.ready();
    const ids = Array.from({ length: 50 }, id);
    const u0 = count('update');
    await Promise.all(ids.map((x, i) => s.set(x, rec(8, i), 60_000)));
    // FerretDB gets chunks of 32 (it deadlocks on ~100 updates in one command); MongoDB one command.
    const expected = ferret ? [32, 18] : [50];
    assert.equal(count('update') - u0, expected.length, 'update commands for 50 upserts');
    const sent = commands.filter((c) => c.commandName === 'update').slice(-expected.length);
    assert.ok(sent.every((c) => c.command.ordered === false));
    assert.deepEqual(sent.map((c) => c.command.updates.length), expected);
    const f0 = count('find');
    const got = await Promise.all([...ids, id()].map((x) => s.get(x)));
    assert.equal(count('find') - f0, 1, 'one find for 51 gets');
    assert.deepEqual(got.slice(0, 50).map((r) => r[0]), ids.map((_, i) => i));
    assert.equal(got[50], null);
  });

  test("lookup 'id': a turn's reads go as one find by _id each, sent together", async () => {
    const s = make({ lookup: 'id' });
    const ids = Array.from({ length: 20 }, id);
    await Promise.all(ids.map((x, i) => s.set(x, rec(8, i), i % 2 ? 60_000 : 1)));
    await sleep(20);
    const f0 = count('find');
    const got = await Promise.all([...ids, id()].map((x) => s.get(x)));
    assert.equal(count('find') - f0, 21);
    assert.deepEqual(got.map((r) => (r === null ? null : r[0])), [...ids.map((_, i) => (i % 2 ? i : null)), null], 'expired documents read as absent');
    const filters = commands.filter((c) => c.commandName === 'find').slice(-21).map((c) => Object.keys(c.command.filter));
    assert.ok(filters.every((k) => k.length === 1 && k[0] === '_id'), 'a filter of _id alone');
  });

  test('lookup is detected from the server (FerretDB: id, otherwise in) unless given', async () => {
    const s = make();
    assert.equal(s.lookup, null);
    await s.ready();
    const info = await client.db(dbName).command({ buildInfo: 1 });
    assert.equal(s.lookup, info.ferretdbVersion ? 'id' : 'in');
    assert.equal(make({ lookup: 'in' }).lookup, 'in');
  });

  test('a turn of 300 writes to existing sessions completes (regression: FerretDB deadlocked on ~100 updates in one command)', async () => {
    const s = make({ timeout: 20_000 });
    const ids = Array.from({ length: 300 }, id);
    await Promise.all(ids.map((x) => s.set(x, rec(8, 1), 60_000)));
    await Promise.all(ids.map((x, i) => (i % 3 === 0 ? s.touch(x, 120_000) : s.set(x, rec(8, 2), 60_000))));
    const got = await Promise.all(ids.map((x) => s.get(x)));
    assert.deepEqual(got.map((r, i) => r[0] === (i % 3 === 0 ? 1 : 2)), ids.map(() => true));
  });

  // Regression: each turn's batch waited for the lane as a chunk of its own, so
  // a steady load one op per turn cost one lock round (several round trips)
  // per op and the queue outgrew the timeout; see src/stores/mongo/chunks.ts.
  test("FerretDB, 'lock' atomicity: batches of later turns that wait for the write lane share one chunk", async (t) => {
    if (!ferret) return t.skip('FerretDB only: MongoDB writes take no lane');
    const s = make();
    const ids = Array.from({ length: 40 }, id);
    await Promise.all(ids.map((x) => s.set(x, rec(8, 1), 60_000)));
    assert.equal(s.atomicity, 'lock');
    const locks = `${col(s).collectionName}.locks`;
    const from = commands.length;
    const touches = [];
    for (const x of ids) {
      touches.push(s.touch(x, 600_000));
      await new Promise((resolve) => setImmediate(resolve)); // one batch per turn
    }
    await Promise.all(touches);
    const takes = commands.slice(from).filter((c) => c.commandName === 'insert' && c.command.insert === locks);
    assert.equal(takes.reduce((n, c) => n + c.command.documents.length, 0), 40, 'one lock taken per touch');
    // One chunk per turn would be 40 lock takes; the first goes alone, the rest share chunks while it runs.
    assert.ok(takes.length <= 10, `${takes.length} lock takes for 40 touches in 40 turns`);
    const docs = await col(s).find({ _id: { $in: ids } }).toArray();
    assert.equal(docs.length, 40);
    assert.ok(docs.every((d) => d.expires.getTime() > Date.now() + 500_000), 'every touch landed');
  });

  test('gets of one id in flight share one round trip', async () => {
    const s = make();
    const x = id();
    await s.set(x, rec(4, 1), 60_000);
    const f0 = count('find');
    const all = await Promise.all(Array.from({ length: 20 }, () => s.get(x)));
    assert.equal(count('find') - f0, 1);
    for (const r of all) assert.deepEqual([...r], [1, 1, 1, 1]);
  });

  test('a mixed turn (set, touch, destroy) is one bulk and each op lands', async () => {
    const s = make();
    const [a, b, c] = [id(), id(), id()];
    await Promise.all([s.set(b, rec(), 60_000), s.set(c, rec(), 60_000)]);
    const before = await col(s).findOne({ _id: b });
    await Promise.all([s.set(a, rec(3, 9), 60_000), s.touch(b, 600_000), s.destroy(c), s.touch(id(), 1000)]);
    const docs = await col(s).find({ _id: { $in: [a, b, c] } }).toArray();
    const byId = Object.fromEntries(docs.map((d) => [d._id, d]));
    assert.deepEqual([...byId[a].record.buffer], [9, 9, 9]);
    assert.ok(byId[b].expires.getTime() > before.expires.getTime() + 500_000, 'touch extended expires');
    assert.equal(byId[c], undefined, 'destroyed');
    assert.equal(Object.keys(byId).length, 2, 'a touch of an absent id creates nothing');
  });

  test('documents hold _id, expires (Date) and the record as BinData', async () => {
    const s = make();
    const x = id();
    await s.set(x, rec(5, 3), 120_000);
    const doc = await col(s).findOne({ _id: x });
    assert.deepEqual(Object.keys(doc).sort(), ['_id', 'expires', 'record']);
    assert.ok(doc.expires instanceof Date);
    assert.ok(Math.abs(doc.expires.getTime() - (Date.now() + 120_000)) < 5000);
    assert.equal(doc.record._bsontype, 'Binary');
  });

  test('the ttl option caps the lifetime the session asks for', async () => {
    const s = make({ ttl: 10_000 });
    const x = id();
    await s.set(x, rec(), 86_400_000);
    const doc = await col(s).findOne({ _id: x });
    assert.ok(doc.expires.getTime() <= Date.now() + 10_000);
  });

  test('reads ignore expired documents whatever autoRemove is', async () => {
    for (const autoRemove of ['disabled', 'interval', 'native']) {
      const s = make({ autoRemove, autoRemoveInterval: 3_600_000 });
      const x = id();
      await s.set(x, rec(), 300);
      assert.notEqual(await s.get(x), null);
      await sleep(400);
      assert.equal(await s.get(x), null, autoRemove);
      await col(s).insertOne({ _id: 'past', expires: new Date(Date.now() - 1), record: Buffer.from([1]) });
      assert.equal(await s.get('past'), null);
    }
  });

  test("'interval' deletes expired documents on its timer; 'disabled' leaves them", async () => {
    const swept = make({ autoRemove: 'interval', autoRemoveInterval: 100 });
    const kept = make({ autoRemove: 'disabled' });
    for (const s of [swept, kept]) {
      await s.ready();
      await col(s).insertMany([
        { _id: 'old', expires: new Date(Date.now() - 1000), record: Buffer.from([1]) },
        { _id: 'live', expires: new Date(Date.now() + 60_000), record: Buffer.from([1]) },
      ]);
    }
    await sleep(600);
    assert.deepEqual((await col(swept).find().toArray()).map((d) => d._id), ['live']);
    assert.equal(await col(kept).countDocuments(), 2);
    assert.equal(swept.autoRemove, 'interval');
    assert.equal(kept.autoRemove, 'disabled');
  });

  test("'native' makes a TTL index, or falls back to 'interval' where the server has none", async () => {
    const s = make({ autoRemove: 'native' });
    await s.ready();
    const indexes = await col(s).listIndexes().toArray();
    const onExpires = indexes.find((i) => i.key.expires === 1);
    assert.ok(onExpires, 'an index on expires exists either way');
    if (s.autoRemove === 'native') assert.equal(onExpires.expireAfterSeconds, 0);
    else assert.equal(s.autoRemove, 'interval');
  });

  test('a refused TTL index gives one process warning with a code, however many stores', async () => {
    // A child process: this one may have warned already.
    const { spawnSync } = await import('node:child_process');
    const code = `
      const { MongoStore } = require('hotsession/mongo');
      const seen = [];
      process.on('warning', (w) => seen.push(w.code));
      (async () => {
        const stores = [0, 1, 2].map((i) => new MongoStore({ url: process.env.URL, dbName: process.env.DB, collection: 'w' + i }));
        for (const s of stores) await s.ready();
        await new Promise((r) => setImmediate(r));
        console.log(JSON.stringify({ seen, modes: stores.map((s) => s.autoRemove) }));
        for (const s of stores) await s.close();
      })().catch((e) => { console.error(e); process.exit(1); });`;
    const r = spawnSync(process.execPath, ['-e', code], { cwd: new URL('../..', import.meta.url), env: { ...process.env, URL: MONGODB_URL, DB: dbName }, encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    if (out.modes.every((m) => m === 'native')) assert.deepEqual(out.seen, []);
    else {
      assert.deepEqual(out.modes, ['interval', 'interval', 'interval']);
      assert.deepEqual(out.seen, ['HOTSESSION_MONGO_TTL_UNSUPPORTED']);
    }
  });

  test('a write the server refuses rejects; no write is reported saved that is not stored', async () => {
    const s = make();
    await s.ready();
    // Two sets of one batch get the same expires (one clock reading per batch): a unique index makes one of them fail.
    await col(s).createIndex({ expires: 1 }, { unique: true, name: 'force_conflict' });
    const [a, b, c] = [id(), id(), id()];
    await s.set(c, rec(), 30_000);
    const results = await Promise.allSettled([s.set(a, rec(2, 1), 60_000), s.set(b, rec(2, 2), 60_000), s.destroy(c)]);
    const rejected = results.filter((r) => r.status === 'rejected');
    assert.ok(rejected.length >= 1, 'the conflicting write rejects');
    for (const r of rejected) assert.equal(r.reason.code, 'HOTSESSION_ERR_STORE');
    assert.ok(rejected.some((r) => r.reason.cause?.code === 11000), 'the server error is the cause');
    const stored = new Set((await col(s).find().toArray()).map((d) => d._id));
    [a, b].forEach((x, i) => { if (results[i].status === 'fulfilled') assert.ok(stored.has(x), `reported saved: ${x}`); });
    if (results[2].status === 'fulfilled') assert.ok(!stored.has(c), 'reported destroyed');
    assert.ok(!(stored.has(a) && stored.has(b)), 'both cannot be stored');
  });

  test('a record over the document limit is refused before it is sent', async () => {
    const s = make();
    await assert.rejects(s.set(id(), new Uint8Array(17 * 1024 * 1024), 1000), { code: 'HOTSESSION_ERR_RECORD_TOO_LARGE' });
  });

  test("legacy: 'read' decodes connect-mongo documents (JSON text or object); otherwise they read as absent", async () => {
    const legacy = make({ legacy: 'read' });
    const plain = make({ collection: legacy.collection.collectionName });
    const expires = new Date(Date.now() + 60_000);
    const body = { cookie: { originalMaxAge: 60_000, httpOnly: true, path: '/' }, user: 'ada', n: [1, 2] };
    await col(legacy).insertMany([
      { _id: 'text', session: JSON.stringify(body), expires },
      { _id: 'object', session: body, expires },
      { _id: 'broken', session: '{"user":', expires },
      { _id: 'stale', session: JSON.stringify(body), expires: new Date(Date.now() - 1) },
    ]);
    for (const x of ['text', 'object']) {
      const r = await legacy.get(x);
      assert.deepEqual(r.data, { user: 'ada', n: [1, 2] });
      assert.equal(r.expiresAt, expires.getTime());
      assert.ok(Math.abs(r.createdAt - Date.now()) < 5000);
      assert.equal(await plain.get(x), null);
    }
    assert.equal(await legacy.get('broken'), null);
    assert.equal(await legacy.get('stale'), null);
  });

  test('close() closes its own client and leaves a given one open', async () => {
    const own = new MongoStore({ url: MONGODB_URL, dbName, collection: 'own', autoRemove: 'disabled' });
    await own.set(id(), rec(), 1000);
    await own.close();
    await assert.rejects(own.get(id()), { code: 'HOTSESSION_ERR_STORE_CLOSED' });
    await assert.rejects(own.set(id(), rec(), 1000), { code: 'HOTSESSION_ERR_STORE_CLOSED' });
    const given = make();
    await given.set(id(), rec(), 1000);
    await given.close();
    assert.equal((await client.db(dbName).command({ ping: 1 })).ok, 1);
  });

  test('bad options are coded errors', () => {
    const bad = [{}, { url: '' }, { url: MONGODB_URL, autoRemove: 'ttl' }, { url: MONGODB_URL, autoRemoveInterval: 0 }, { url: MONGODB_URL, ttl: -1 }, { url: MONGODB_URL, legacy: 'write' }, { url: MONGODB_URL, lookup: 'all' }, { url: MONGODB_URL, maxBatch: 0 }, { client: {} }];
    for (const o of bad) assert.throws(() => new MongoStore(o), { code: 'HOTSESSION_ERR_OPTIONS' }, JSON.stringify(o));
  });
});
