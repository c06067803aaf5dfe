// What RedisStore.patch / .forward must do, checked the same way on a
// standalone server (scripts on and off) and on a Cluster: a model built on
// codec.apply (the JS reference), random records and patches (valid, v1,
// legacy JSON, markers, mutated), and the concurrency scenarios of #13.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';

const require = createRequire(import.meta.url);
const R = require('../../dist/codec/record.js');
const L = require('../../dist/codec/layout.js');
const { codec } = require('../../dist/codec/index.js');
const { encodeData } = require('../../dist/codec/msgpack.js');
const { pack } = require('msgpackr');

export { R, L, codec };

export const TAG = R.nameTag('sid');
const w = new R.RecordWriter();

/** A deterministic PRNG (mulberry32), so a failing case can be replayed from its seed. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A v2 RECORD of `obj` (values msgpack-encoded). */
export function record(obj, { expiresAt = 0, createdAt = 1000 } = {}) {
  w.begin(L.KIND_RECORD, 0, expiresAt, createdAt, TAG);
  for (const [k, v] of Object.entries(obj)) w.set(k, pack(v));
  return w.finish();
}

/** A PATCH: `set` keys to values, `del` keys to delete. */
export function patch({ set = {}, del = [], clear = false, expiresAt = 0, createdAt = 1000 } = {}) {
  w.begin(L.KIND_PATCH, clear ? L.FLAG_CLEAR : 0, expiresAt, createdAt, TAG);
  for (const [k, v] of Object.entries(set)) w.set(k, pack(v));
  for (const k of del) w.delete(k);
  return w.finish();
}

/** A frame v1 record (what hotsession wrote before v2). */
export function v1(obj) {
  return codec.frame(encodeData(obj), 0, 1000);
}

/** What connect-redis stores: express-session's object as JSON. */
export function legacyJson(obj, maxAge = 3_600_000) {
  return JSON.stringify({ cookie: { originalMaxAge: maxAge, expires: new Date(Date.now() + maxAge).toISOString(), httpOnly: true, path: '/' }, ...obj });
}

/** The keys of a v2 record, in order, or null when it is not one. */
export function keysOf(buf) {
  const v = buf && R.scanRecord(buf);
  if (!v || v.kind !== L.KIND_RECORD) return null;
  return Array.from({ length: v.count }, (_, i) => R.keyAt(buf, v, i));
}

function isPatchHeader(p) {
  return p.length >= 28 && p[0] === 0x68 && p[1] === 2 && p[2] === L.KIND_PATCH;
}

/**
 * What the store must answer for `p` on a key holding `cur` (a Buffer, or
 * null when absent), and what the key holds afterwards, per the contract in
 * src/stores/types.ts and the rules of src/codec/layout.ts:
 *   { outcome: 'ok'|'gone'|'stale'|{movedTo}, after } or { error: code, after: cur }.
 */
export function expectPatch(cur, p, maxRecordSize) {
  if (p.length > maxRecordSize) return { error: 'HOTSESSION_ERR_RECORD_TOO_LARGE', after: cur };
  if (!isPatchHeader(p)) return { error: 'HOTSESSION_ERR_ENCODE', after: cur };
  if (cur === null) return { outcome: 'gone', after: null };
  const pv = R.scanRecord(p);
  if (pv === null || pv.kind !== L.KIND_PATCH) return { error: 'HOTSESSION_ERR_ENCODE', after: cur };
  const cv = R.scanRecord(cur);
  if (cv !== null && cv.kind === L.KIND_FORWARD) return { outcome: { movedTo: cv.target }, after: cur };
  const next = codec.apply(cur, p);
  if (next === null) return { outcome: 'stale', after: cur };
  if (next.length > maxRecordSize) return { error: 'HOTSESSION_ERR_RECORD_TOO_LARGE', after: cur };
  return { outcome: 'ok', after: next };
}

const KEYS = ['a', 'b', 'user', 'cart', 'csrf', 'ü', '€uro', '日本', '', 'x'.repeat(40), 'flash'];
const pick = (rnd, list) => list[Math.floor(rnd() * list.length)];

function randomValue(rnd, size) {
  const n = Math.floor(rnd() * size);
  switch (Math.floor(rnd() * 4)) {
    case 0: return Math.floor(rnd() * 1e6);
    case 1: return 'v'.repeat(n);
    case 2: return { n, list: Array.from({ length: n % 7 }, (_, i) => i), s: 'é'.repeat(n % 5) };
    default: return null;
  }
}

function randomObject(rnd, size) {
  const obj = {};
  const n = Math.floor(rnd() * 6);
  for (let i = 0; i < n; i++) obj[pick(rnd, KEYS)] = randomValue(rnd, size);
  return obj;
}

/** Flips, truncates or rewrites a few bytes: mostly malformed, sometimes still valid. */
function mutate(rnd, buf) {
  const b = Buffer.from(buf);
  switch (Math.floor(rnd() * 5)) {
    case 0: if (b.length > 0) b[Math.floor(rnd() * b.length)] ^= 1 << Math.floor(rnd() * 8); return b;
    case 1: return b.subarray(0, Math.floor(rnd() * b.length));
    case 2: return Buffer.concat([b, Buffer.from([Math.floor(rnd() * 256)])]);
    case 3: if (b.length > 28) b[28 + Math.floor(rnd() * (b.length - 28))] = pick(rnd, [0x00, 0xc0, 0xff, 0x61, 0xed]); return b;
    default: if (b.length >= 28) b.writeUInt32BE(b.readUInt32BE(24) + 1, 24); return b;
  }
}

/** A record with one of the key-level faults only a foreign writer could make. */
function badKeys(rnd) {
  const kind = Math.floor(rnd() * 4);
  if (kind === 0) return record({ [pick(rnd, ['__proto__', 'constructor', 'prototype'])]: 1, a: 2 });
  const b = record({ a: 1, b: 2, ab: 3 });
  if (kind === 1) b[b.indexOf(0x62, 28)] = 0x61; // 'b' becomes a second 'a'
  else if (kind === 2) b[30] = 0xc0; // overlong UTF-8 lead byte in the first key
  else b[30] = 0x80; // a lone continuation byte
  return b;
}

/** A random stored value (null: absent). */
export function randomStored(rnd, size = 40) {
  const r = rnd();
  if (r < 0.1) return null;
  if (r < 0.55) return record(randomObject(rnd, size), { expiresAt: Math.floor(rnd() * 2) * 99, createdAt: Math.floor(rnd() * 5000) });
  if (r < 0.62) return v1(randomObject(rnd, size));
  if (r < 0.68) return Buffer.from(legacyJson(randomObject(rnd, size)));
  if (r < 0.74) return R.forwardMarker(pick(rnd, ['new-id', 'Z'.repeat(255), 'x']), 0, 1000, TAG);
  if (r < 0.78) return Buffer.from(pick(rnd, ['garbage', '{"user":', '\x68\x02']));
  if (r < 0.86) return badKeys(rnd);
  if (r < 0.9) return patch({ set: randomObject(rnd, size) }); // a PATCH stored as a value
  return mutate(rnd, pick(rnd, [record(randomObject(rnd, size)), R.forwardMarker('new-id', 0, 1, TAG)]));
}

/** A random patch, usually valid, sometimes with CLEAR, sometimes mutated. */
export function randomPatch(rnd, size = 40) {
  const set = randomObject(rnd, size);
  const del = KEYS.filter((k) => !(k in set) && rnd() < 0.12);
  const p = patch({ set, del, clear: rnd() < 0.2, expiresAt: Math.floor(rnd() * 3) * 1000, createdAt: Math.floor(rnd() * 5000) });
  return rnd() < 0.12 ? mutate(rnd, p) : p;
}

/** Settles `promise` as the model describes it: { outcome } or { error: code }. */
export async function settle(promise) {
  try {
    return { outcome: await promise };
  } catch (err) {
    return { error: err.code ?? err.message };
  }
}

/**
 * Applies `cases` ({ cur, p }) through `store` at once (one batch per
 * `maxBatch`) or one at a time, and checks each outcome and what Redis holds
 * afterwards against {@link expectPatch}. `raw` is a client of its own;
 * `key(id)` maps an id to its Redis key.
 */
export async function checkParity({ store, raw, key, cases, together, seed }) {
  const ids = cases.map((_, i) => `parity-${seed}-${i}`);
  for (let i = 0; i < cases.length; i++) {
    const { cur } = cases[i];
    if (cur === null) await raw.del(key(ids[i]));
    else await raw.set(key(ids[i]), cur, 'PX', 60_000);
  }
  const ttl = 30_000 + Math.floor(seed % 1000);
  const got = [];
  if (together) got.push(...await Promise.all(cases.map(({ p }, i) => settle(store.patch(ids[i], p, ttl)))));
  else for (let i = 0; i < cases.length; i++) got.push(await settle(store.patch(ids[i], cases[i].p, ttl)));
  for (let i = 0; i < cases.length; i++) {
    const { cur, p } = cases[i];
    const want = expectPatch(cur, p, store.maxRecordSize);
    const where = `seed ${seed} case ${i}: stored ${cur === null ? 'nothing' : cur.toString('hex')}, patch ${p.toString('hex')}`;
    if (want.error) assert.equal(got[i].error, want.error, where);
    else assert.deepEqual(got[i], { outcome: want.outcome }, where);
    const after = await raw.getBuffer(key(ids[i]));
    assert.deepEqual(after, want.after === null ? null : Buffer.from(want.after), `${where}: what Redis holds afterwards`);
    if (want.outcome === 'ok') {
      const left = await raw.pttl(key(ids[i]));
      assert.ok(left > ttl - 5_000 && left <= ttl, `${where}: PX ${ttl} applied (${left})`);
    }
  }
  // One key per DEL: on a Cluster the ids live in different slots.
  for (const id of ids) await raw.del(key(id));
}

/** Waits a random 0..`ms` ms. */
const jitter = (rnd, ms) => sleep(Math.floor(rnd() * ms));

/**
 * N patches on one session from several stores, each setting its own key,
 * issued at random moments over a few ms: every key must survive.
 */
export async function concurrentKeys({ stores, raw, key, id, n, seed }) {
  const rnd = prng(seed);
  await stores[0].set(id, record({ base: 0 }), 60_000);
  const outcomes = await Promise.all(Array.from({ length: n }, async (_, i) => {
    await jitter(rnd, 8);
    return stores[i % stores.length].patch(id, patch({ set: { [`k${i}`]: i } }), 60_000);
  }));
  assert.deepEqual(outcomes, Array(n).fill('ok'));
  const stored = await raw.getBuffer(key(id));
  const keys = keysOf(stored);
  assert.notEqual(keys, null, 'a v2 record');
  assert.deepEqual([...keys].sort(), ['base', ...Array.from({ length: n }, (_, i) => `k${i}`)].sort(), `all ${n} keys kept`);
  const view = R.scanRecord(stored);
  for (let i = 0; i < view.count; i++) {
    const k = R.keyAt(stored, view, i);
    const at = view.index[4 * i + 2];
    assert.deepEqual(stored.subarray(at, at + view.index[4 * i + 3]), pack(k === 'base' ? 0 : Number(k.slice(1))), k);
  }
  await raw.del(key(id));
}

/**
 * A logout while 20 patches are in flight from several stores: half of them
 * are sent before the destroy, half after it while the first are still in
 * flight. Nothing may bring the session back.
 */
export async function destroyRace({ stores, raw, key, id, seed }) {
  const rnd = prng(seed);
  await stores[0].set(id, record({ user: 'ada' }), 60_000);
  const p = (i) => stores[i % stores.length].patch(id, patch({ set: { [`k${i}`]: i, user: 'ada' } }), 60_000);
  const early = Array.from({ length: 10 }, (_, i) => p(i));
  await jitter(rnd, 2);
  const logout = stores[stores.length - 1].destroy(id);
  const late = [];
  for (let i = 10; i < 17; i++) {
    late.push(p(i));
    if (i % 3 === 0) await jitter(rnd, 2);
  }
  await logout;
  for (let i = 17; i < 20; i++) late.push(p(i));
  const all = await Promise.all([...early, ...late]);
  for (const o of all) assert.ok(o === 'ok' || o === 'gone', String(o));
  assert.deepEqual(all.slice(17), ['gone', 'gone', 'gone'], 'patches after the logout find nothing');
  await sleep(20);
  assert.equal(await raw.exists(key(id)), 0, 'the destroyed session stays destroyed');
}

/**
 * regenerate() while 20 patches are in flight: the forward swaps the record
 * for a marker; each patch either landed before it (its key is in the record
 * the forward returned) or after it ({ movedTo }); none is lost, none lands
 * on the marker.
 */
export async function forwardRace({ stores, raw, key, id, seed, grace = 5_000 }) {
  const rnd = prng(seed);
  const target = `next-${seed}`;
  await stores[0].set(id, record({ user: 'ada' }), 60_000);
  const p = (i) => stores[i % stores.length].patch(id, patch({ set: { [`k${i}`]: i } }), 60_000);
  const first = Array.from({ length: 10 }, (_, i) => p(i));
  await jitter(rnd, 2);
  const moved = stores[stores.length - 1].forward(id, R.forwardMarker(target, 0, 1000, TAG), grace);
  const rest = [];
  for (let i = 10; i < 17; i++) {
    rest.push(p(i));
    if (i % 3 === 0) await jitter(rnd, 2);
  }
  const held = await moved;
  for (let i = 17; i < 20; i++) rest.push(p(i));
  const outcomes = await Promise.all([...first, ...rest]);
  assert.ok(Buffer.isBuffer(held), 'forward returns the record it replaced');
  const keys = new Set(keysOf(held));
  for (let i = 0; i < 20; i++) {
    const o = outcomes[i];
    if (o === 'ok') assert.ok(keys.has(`k${i}`), `patch ${i} landed before the forward: in the record it returned`);
    else {
      assert.deepEqual(o, { movedTo: target }, `patch ${i}`);
      assert.ok(!keys.has(`k${i}`), `patch ${i} was redirected, not applied`);
    }
  }
  for (const o of outcomes.slice(17)) assert.deepEqual(o, { movedTo: target }, 'patches after the forward are redirected');
  assert.ok(keys.has('user'));
  const now = await raw.getBuffer(key(id));
  assert.equal(R.scanRecord(now)?.kind, L.KIND_FORWARD, 'the old id holds the marker');
  const left = await raw.pttl(key(id));
  assert.ok(left > 0 && left <= grace, `the marker lives for the grace only (${left} ms)`);
  assert.equal(await stores[0].forward(id, R.forwardMarker('other', 0, 1, TAG), grace), null, 'a marker is not forwarded again');
  await raw.del(key(id));
}

/**
 * Records written before v2 (frame v1; connect-redis JSON with legacy:
 * 'read') are read as they are; a patch without CLEAR is 'stale' and changes
 * nothing; the CLEAR patch the core then sends replaces them with v2.
 */
export async function upgradeOldRecords({ store, raw, key, id }) {
  const old = v1({ user: 'ada', n: 1 });
  await raw.set(key(id), old, 'PX', 60_000);
  assert.deepEqual(await store.get(id), old, 'a v1 frame is read as it is');
  assert.equal(await store.patch(id, patch({ set: { n: 2 } }), 60_000), 'stale');
  assert.deepEqual(await raw.getBuffer(key(id)), old, 'nothing written');
  const whole = patch({ set: { user: 'ada', n: 2 }, clear: true });
  assert.equal(await store.patch(id, whole, 60_000), 'ok');
  const now = await store.get(id);
  assert.deepEqual(now, codec.apply(null, whole), 'the CLEAR patch became the v2 record');
  assert.deepEqual(keysOf(now), ['user', 'n']);
  assert.equal(await store.patch(id, patch({ set: { seen: true } }), 60_000), 'ok', 'and later patches apply');
  assert.deepEqual(keysOf(await store.get(id)), ['user', 'n', 'seen']);

  const legacyId = `${id}-legacy`;
  await raw.set(key(legacyId), legacyJson({ user: 'bob', roles: ['ops'] }), 'PX', 60_000);
  const decoded = await store.get(legacyId);
  assert.deepEqual(decoded.data, { user: 'bob', roles: ['ops'] }, 'connect-redis JSON is read (legacy: read)');
  assert.equal(await store.patch(legacyId, patch({ set: { n: 1 } }), 60_000), 'stale');
  const rewrite = patch({ set: { user: 'bob', roles: ['ops'], n: 1 }, clear: true });
  assert.equal(await store.patch(legacyId, rewrite, 60_000), 'ok');
  assert.deepEqual(await store.get(legacyId), codec.apply(null, rewrite), 'rewritten as v2');
  await raw.del(key(id));
  await raw.del(key(legacyId));
}
