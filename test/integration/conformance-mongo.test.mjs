import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { MongoStore } from 'hotsession/mongo';
import { conformance } from '../helpers/conformance.mjs';
import { backend, MONGODB_URL } from '../helpers/backends.mjs';

const skip = await backend('mongo');
// A database of its own per run (dropped at the end), a collection per store.
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

conformance('MongoStore (own client, native autoRemove, lookup detected) over node:http', {
  skip,
  makeStore: () => new MongoStore({ url: MONGODB_URL, dbName, collection: `s${n++}` }),
  closeStore: closeAndDrop,
});

conformance('MongoStore (given client, batch: false, interval autoRemove) over node:http', {
  skip,
  makeStore: () => {
    const client = new MongoClient(MONGODB_URL, { serverSelectionTimeoutMS: 1000 });
    const store = new MongoStore({ client, dbName, collection: `s${n++}`, batch: false, autoRemove: 'interval', autoRemoveInterval: 200 });
    return Object.assign(store, { testClient: client });
  },
  closeStore: async (store) => {
    await store.close();
    await store.testClient.db(dbName).dropDatabase().catch(() => {});
    await store.testClient.close();
  },
});

conformance("MongoStore (lookup: 'in', disabled autoRemove) over node:http", {
  skip,
  makeStore: () => new MongoStore({ url: MONGODB_URL, dbName, collection: `s${n++}`, lookup: 'in', autoRemove: 'disabled' }),
  closeStore: closeAndDrop,
});
