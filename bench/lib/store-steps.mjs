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

const { findKey, RecordWriter } = require('../../dist/codec/record.js');
const { KIND_PATCH, KIND_RECORD } = require('../../dist/codec/layout.js');
const { encodeValue, decodeValue } = require('../../dist/codec/msgpack.js');

/** A v2 record of `data` (each top-level key its own entry), as the core writes a new session. */
export function perKeyRecord(data, createdAt = Date.now(), tag = 0) {
  const w = new RecordWriter().begin(KIND_RECORD, 0, 0, createdAt, tag);
  for (const [k, v] of Object.entries(data)) w.set(k, encodeValue(k, v));
  return w.finish();
}

/** A hotsession store moving a fixed patch: get then patch, the store alone (no codec work). */
export function patchStep(store, patch, ttl) {
  return async (id) => {
    const got = await store.get(id);
    if (got === null) throw new Error('lost a record');
    const outcome = await store.patch(id, patch, ttl);
    if (outcome !== 'ok') throw new Error(`patch: ${JSON.stringify(outcome)}`);
  };
}

function valueAt(rec, view, key) {
  const i = findKey(rec, view, key);
  if (i === -1) throw new Error(`no key ${key}`);
  const at = view.index[4 * i + 2];
  return decodeValue(rec, at, at + view.index[4 * i + 3]);
}

/**
 * A hotsession store plus the core's per-key codec work, like for like with
 * JSON stores: get, scan the record, decode the key(s) the request reads
 * (`readKey`, then the counter `writeKey`), encode the new value, build the
 * patch and send it. Nothing else of the session is decoded or re-encoded.
 */
export function perKeyStep(store, ttl, { readKey = null, writeKey = 'views' } = {}) {
  const w = new RecordWriter();
  return async (id) => {
    const rec = await store.get(id);
    const view = rec && codec.scan(rec);
    if (!view || view.kind !== KIND_RECORD) throw new Error('lost a record');
    if (readKey !== null && valueAt(rec, view, readKey) === undefined) throw new Error(`${readKey} is undefined`);
    const n = valueAt(rec, view, writeKey);
    const patch = w.begin(KIND_PATCH, 0, view.expiresAt, view.createdAt, view.nameTag).set(writeKey, encodeValue(writeKey, n + 1)).finish();
    const outcome = await store.patch(id, patch, ttl);
    if (outcome !== 'ok') throw new Error(`patch: ${JSON.stringify(outcome)}`);
  };
}
