// Baseline: express + express-session with the store HS_STORE names:
// memory (its MemoryStore), redis (connect-redis 9, which takes a node-redis
// client only), memcached (connect-memcached), mongo (connect-mongo).
import { cjs, fatal, MAX_AGE, MEMCACHED_SERVERS, MONGO_DB, MONGODB_URL, need, onStop, PREFIX, REDIS_URL, SECRET, STORE } from './common.mjs';
import { startExpress } from './express-app.mjs';

const session = cjs(await need('express-session'));

async function makeStore(kind) {
  switch (kind) {
    case 'memory':
      return { store: undefined, close: async () => {} };
    case 'redis': {
      const { RedisStore } = await need('connect-redis');
      const { createClient } = await need('redis');
      const client = createClient({ url: REDIS_URL });
      await client.connect();
      return { store: new RedisStore({ client, prefix: `${PREFIX}cr:` }), close: () => client.quit() };
    }
    case 'memcached': {
      const MemcachedStore = cjs(await need('connect-memcached'))(session);
      const store = new MemcachedStore({ hosts: [MEMCACHED_SERVERS], prefix: `${PREFIX}cm:` });
      return { store, close: async () => store.client.end() };
    }
    case 'mongo': {
      const MongoStore = cjs(await need('connect-mongo'));
      // FerretDB v1 has no TTL indexes: leave expiry to the cookie; the harness drops the database.
      const store = (MongoStore.create ?? MongoStore.default?.create).call(MongoStore, {
        mongoUrl: MONGODB_URL, dbName: MONGO_DB, collectionName: 'connect_mongo', autoRemove: 'disabled',
      });
      return { store, close: () => store.close() };
    }
    default:
      throw new Error(`unknown store kind ${kind}`);
  }
}

let built;
try {
  built = await makeStore(STORE);
} catch (err) {
  fatal(err);
}
await startExpress(session({
  secret: SECRET,
  resave: false,
  saveUninitialized: false,
  cookie: { maxAge: MAX_AGE },
  store: built.store,
}));
onStop(() => built.close());
