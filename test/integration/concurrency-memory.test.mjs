import { MemoryStore, SharedMemoryStore } from 'hotsession';
import { concurrency } from '../helpers/concurrency.mjs';
import { startUws } from '../helpers/uws-harness.mjs';

/**
 * A MemoryStore that reads JSON bodies the way a legacy reader does
 * (connect-redis records through RedisStore's `legacy: 'read'`): as a
 * DecodedRecord, express-session's `cookie` dropped.
 */
function legacyReading() {
  const mem = new MemoryStore();
  return {
    get(id) {
      const b = mem.get(id);
      if (b === null || b[0] !== 0x7b) return b;
      const { cookie, ...data } = JSON.parse(b.toString('utf8'));
      return { data, expiresAt: 0, createdAt: Date.now() };
    },
    set: (id, r, t) => mem.set(id, r, t),
    patch: (id, p, t) => mem.patch(id, p, t),
    forward: (id, m, g) => mem.forward(id, m, g),
    touch: (id, t) => mem.touch(id, t),
    destroy: (id) => mem.destroy(id),
    close: () => mem.close(),
    plant: (id, data, ttl) => mem.set(id, Buffer.from(JSON.stringify({ cookie: { path: '/' }, ...data })), ttl),
  };
}

const legacy = { makeStore: legacyReading, plant: (store, id, data, ttl) => store.plant(id, data, ttl) };

concurrency('MemoryStore over node:http', { makeStore: () => new MemoryStore(), legacy });
concurrency('MemoryStore over uWS', { makeStore: () => new MemoryStore(), harness: startUws, legacy });

// One table for every thread of the process; here the main thread alone, through both adapters.
let shm = 0;
const shared = () => new SharedMemoryStore({ name: `concurrency-${process.pid}-${shm++}`, maxBytes: 16 * 2 ** 20 });
concurrency('SharedMemoryStore over node:http', { makeStore: shared });
concurrency('SharedMemoryStore over uWS', { makeStore: shared, harness: startUws });
