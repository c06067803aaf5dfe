// One session's work per step in the store benches (bench/stores-*.mjs): a
// get then a set of the same id, through each contender's own API, so every
// store bench measures exactly the same thing.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { codec } = require('../../dist/codec/index.js');
const { encodeData, decodeData } = require('../../dist/codec/msgpack.js');

/** A hotsession store moving a fixed framed record: the store alone. */
export function storeStep(store, rec, ttl) {
  return async (id) => {
    const got = await store.get(id);
    if (got === null) throw new Error('lost a record');
    await store.set(id, rec, ttl);
  };
}

/** A hotsession store plus the core's codec work (unframe, decode, encode, frame), like for like with JSON stores. */
export function codecStep(store, ttl) {
  return async (id) => {
    const frame = codec.unframe(await store.get(id));
    const d = decodeData(frame.body);
    d.views++;
    await store.set(id, codec.frame(encodeData(d), 0, frame.createdAt), ttl);
  };
}

/** An express-session store (connect-redis, connect-memcached, connect-mongo) through its callback API. */
export function connectStep(store) {
  const get = (id) => new Promise((res, rej) => store.get(id, (e, s) => (e ? rej(e) : res(s))));
  const set = (id, s) => new Promise((res, rej) => store.set(id, s, (e) => (e ? rej(e) : res())));
  return async (id) => {
    const s = await get(id);
    if (s === null || s === undefined) throw new Error('lost a session');
    s.views++;
    await set(id, s);
  };
}
