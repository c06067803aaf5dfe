// Per-key steps for the store benches (bench/stores-memcached.mjs,
// bench/stores-mongo.mjs): one session's work per step as the core does it
// with v2 records (src/codec/layout.ts), against the same step through an
// express-session store's own JSON API, so each side's codec is counted.
//   hotsession: get, scan, decode the one value read, encode the one value
//               written, build the PATCH, store.patch
//   connect-*:  get (JSON.parse inside the store), change one key, set
//               (JSON.stringify inside the store)
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { codec } = require('../../dist/codec/index.js');
const { RecordWriter, findKey } = require('../../dist/codec/record.js');
const { KIND_PATCH, KIND_RECORD } = require('../../dist/codec/layout.js');
const { encodeValue, decodeValue, INVALID } = require('../../dist/codec/msgpack.js');

/** A v2 RECORD holding `data`, one entry per top-level key. */
export function recordOf(data, createdAt = Date.now()) {
  const w = new RecordWriter().begin(KIND_RECORD, 0, 0, createdAt, 0);
  for (const [k, v] of Object.entries(data)) w.set(k, Buffer.from(encodeValue(k, v)));
  return w.finish();
}

/** The value of `key` in a v2 record, decoded (the store's answer checked as the core checks it). */
export function valueOf(rec, key) {
  const v = rec instanceof Uint8Array ? codec.scan(rec) : null;
  if (v === null || v.kind !== KIND_RECORD) throw new Error('not a v2 record');
  const i = findKey(rec, v, key);
  if (i < 0) return undefined;
  const at = v.index[4 * i + 2];
  const value = decodeValue(rec, at, at + v.index[4 * i + 3]);
  if (value === INVALID) throw new Error(`${key}: not a well-formed value`);
  return value;
}

const writer = new RecordWriter();

/**
 * One request of the core on a v2 record: reads key `read`, writes key
 * `write` = next(value read), as one PATCH (the header carried over).
 */
export function patchStep(store, ttl, { read = 'views', write = 'views', next = (v) => v + 1 } = {}) {
  return async (id) => {
    const rec = await store.get(id);
    const v = rec instanceof Uint8Array ? codec.scan(rec) : null;
    if (v === null || v.kind !== KIND_RECORD) throw new Error('lost a record');
    const i = findKey(rec, v, read);
    if (i < 0) throw new Error(`lost key ${read}`);
    const at = v.index[4 * i + 2];
    const value = decodeValue(rec, at, at + v.index[4 * i + 3]);
    // RecordWriter copies the encoded bytes at once (encodeValue's may share msgpackr's buffer).
    const patch = writer.begin(KIND_PATCH, 0, v.expiresAt, v.createdAt, v.nameTag).set(write, encodeValue(write, next(value))).finish();
    const outcome = await store.patch(id, patch, ttl);
    if (outcome !== 'ok') throw new Error(`patch answered ${JSON.stringify(outcome)}`);
  };
}

/** The same request through an express-session store's callback API (its JSON codec inside). */
export function connectKeyStep(store, { read = 'views', write = 'views', next = (v) => v + 1 } = {}) {
  const get = (id) => new Promise((res, rej) => store.get(id, (e, s) => (e ? rej(e) : res(s))));
  const set = (id, s) => new Promise((res, rej) => store.set(id, s, (e) => (e ? rej(e) : res())));
  return async (id) => {
    const s = await get(id);
    if (s === null || s === undefined || !(read in s)) throw new Error('lost a session');
    s[write] = next(s[read]);
    await set(id, s);
  };
}

/**
 * A 2 KB session as an app might keep it: a user, permissions, a cart,
 * preferences, flash messages and a few counters; ~2 KB as msgpack and as JSON.
 */
export function twoKbSession() {
  const items = Array.from({ length: 12 }, (_, i) => ({ sku: `SKU-${1000 + i}`, qty: 1 + (i % 3), price: 9.99 + i, title: `Item number ${i} with a name` }));
  return {
    user: { id: 48213, name: 'Ada Lovelace', email: 'ada@example.com', roles: ['admin', 'ops', 'billing'] },
    csrf: randomBytes(24).toString('base64url'),
    permissions: Array.from({ length: 24 }, (_, i) => `perm:${['read', 'write', 'admin'][i % 3]}:${i}`),
    cart: items,
    prefs: { theme: 'dark', lang: 'en-GB', tz: 'Europe/London', currency: 'GBP', density: 'compact' },
    flash: [{ type: 'info', text: 'Welcome back, your last visit was yesterday.' }],
    lastSeen: 1_764_000_000_000,
    views: 0,
    referrer: 'https://example.com/some/landing/page?utm_source=newsletter&utm_medium=email',
    note: 'x'.repeat(180),
  };
}

/** The 2 KB row's request: read `user`, write `lastSeen`. */
export const ONE_KEY = { read: 'user', write: 'lastSeen', next: () => Date.now() };

/** The store alone on v2 records: a get, then a fixed PATCH (no codec work). */
export function fixedPatchStep(store, patchBytes, ttl) {
  return async (id) => {
    if ((await store.get(id)) === null) throw new Error('lost a record');
    const outcome = await store.patch(id, patchBytes, ttl);
    if (outcome !== 'ok') throw new Error(`patch answered ${JSON.stringify(outcome)}`);
  };
}

/** A PATCH setting `key` to `value`, header zeroed (for fixedPatchStep). */
export function patchOf(key, value) {
  return new RecordWriter().begin(KIND_PATCH, 0, 0, 0, 0).set(key, encodeValue(key, value)).finish();
}

/**
 * `conc` loops of `step(id)` over `ids` for `time` ms after a warm-up:
 * steps/s, errors, and this process's CPU per step in µs; `serverCpuUs`
 * (a function resolving to the server's CPU time so far, in µs, or null)
 * adds the server's CPU per step.
 */
export async function measure(conc, ids, step, { time, warmMs = Math.min(300, time / 4), serverCpuUs = async () => null } = {}) {
  let done = 0;
  let errors = 0;
  let lastError = null;
  let stop = false;
  const loop = async (id) => {
    while (!stop) {
      try {
        await step(id);
        done++;
      } catch (err) {
        errors++;
        lastError = err;
      }
    }
  };
  const loops = ids.slice(0, conc).map(loop);
  await new Promise((r) => setTimeout(r, warmMs));
  done = 0;
  errors = 0;
  const server0 = await serverCpuUs();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, time));
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const counted = done;
  const server1 = await serverCpuUs();
  stop = true;
  await Promise.all(loops);
  return {
    rate: counted / elapsed,
    errors,
    lastError,
    cpuUs: counted ? (cpu.user + cpu.system) / counted : null,
    serverUs: counted && server0 !== null && server1 !== null ? (server1 - server0) / counted : null,
  };
}

/** "12,345 (8.1 / 3.2)": rate, then CPU µs per session of this process / the server. */
export function cell(m) {
  if (m === undefined) return 'n/a';
  const us = (v) => (v === null || v === undefined ? 'n/a' : v.toFixed(1));
  return `${Math.round(m.rate).toLocaleString('en-US')} (${us(m.cpuUs)} / ${us(m.serverUs)})`;
}

/** a's rate over b's, as "2.31x". */
export const ratio = (a, b) => (a && b && a.rate > 0 && b.rate > 0 ? `${(a.rate / b.rate).toFixed(2)}x` : 'n/a');

/** Best (highest rate) of `rounds` runs of each cell, interleaved so one busy moment does not sink one contender. */
export async function bestOf(rounds, cells, verbose = false) {
  const best = {};
  for (let round = 0; round < rounds; round++) {
    for (const [name, run] of Object.entries(cells)) {
      const m = await run();
      if (verbose) console.error(`  ${name} round ${round}: ${Math.round(m.rate)}/s, ${m.cpuUs?.toFixed(1)} µs CPU${m.errors ? `, ${m.errors} errors (${m.lastError?.message})` : ''}`);
      if (best[name] === undefined || m.rate > best[name].rate) best[name] = m;
    }
  }
  return best;
}
