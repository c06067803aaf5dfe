// Users' sessions on MongoDB (FerretDB here, issue #17): a document per user, atomic $set/$unset.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { createSessionManager } from 'hotsession';
import { MongoStore } from 'hotsession/mongo';
import { usersCases } from './users-cases.mjs';
import { backend, MONGODB_URL } from '../helpers/backends.mjs';

const skip = await backend('mongo');
const dbName = `hotsession_test_${randomBytes(5).toString('hex')}`;
let n = 0;

async function closeAndDrop(store) {
  await store.close();
  const c = new MongoClient(MONGODB_URL, { serverSelectionTimeoutMS: 2000 });
  try {
    await c.db(dbName).dropDatabase();
  } finally {
    await c.close();
  }
}

// 2,000 logins, not 10,000: FerretDB on SQLite (with the 'lock' atomicity it needs) applies
// about 5 writes per login one at a time, and 10,000 logins took longer than 5 minutes here.
usersCases('users: MongoStore over node:http', {
  skip, makeStore: () => new MongoStore({ url: MONGODB_URL, dbName, collection: `s${n++}`, timeout: 10_000 }), closeStore: closeAndDrop, logins: 2000,
});

test('concurrent logins of one user all land in its index (atomic $set)', { skip: skip?.reason ?? false }, async () => {
  const store = new MongoStore({ url: MONGODB_URL, dbName, collection: `s${n++}`, timeout: 10_000 });
  try {
    const m = createSessionManager('sid', store, { secret: 'x' });
    const handles = await Promise.all(Array.from({ length: 20 }, async () => {
      const s = await m.load(undefined);
      await s.login('jo');
      await m.commit(s);
      return s.handle;
    }));
    assert.deepEqual(new Set((await m.sessionsOf('jo')).map((d) => d.handle)), new Set(handles));
  } finally {
    await closeAndDrop(store);
  }
});
