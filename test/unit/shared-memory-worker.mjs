// A worker thread of the SharedMemoryStore thread tests: runs mixed
// operations on the shared table and checks, as it goes, what a thread can
// check alone. Reports { lastOk, errors, ops } to the test.
//
// workerData: { name, t, ops, mode: 'patch' | 'churn', sharedIds, seed, stop?, progress? }
//   patch: patches its own key (t<t>) on the shared ids, reads them back,
//          touches them, and runs set/get/patch/forward/destroy on ids of its
//          own; the test checks afterwards that every acknowledged patch is there.
//   churn: a small table under eviction: sets, gets, patches, forwards and
//          destroys on ids every thread uses; every record read must be whole
//          and be the record of the id it was read under.
// stop (Int32Array over a SharedArrayBuffer): run until stop[0] is 1 instead of `ops`.
import { parentPort, workerData } from 'node:worker_threads';
import { SharedMemoryStore } from 'hotsession';
import { checkValue, decode, kindOf, L, marker, patch, rec, valueFor } from './shared-memory-fixtures.mjs';

const { name, t, ops, mode, sharedIds, stop, progress } = workerData;
const store = new SharedMemoryStore({ name });
const TTL = 3_600_000;
const own = `t${t}`;
const errors = [];
// mulberry32: every bit is usable (an LCG's low bits cycle too fast for `% k`).
let seed = workerData.seed >>> 0;
function rnd(k) {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let x = Math.imul(seed ^ (seed >>> 15), seed | 1);
  x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
  return ((x ^ (x >>> 14)) >>> 0) % k;
}
const fail = (msg) => {
  if (errors.length < 10) errors.push(`thread ${t}: ${msg}`);
};

const lastOk = {};
const seen = new Map();
let n = 0;

/** Checks a shared record: whole, own key exact, other threads' keys never going back. */
function checkShared(id, buf) {
  let data;
  try {
    data = decode(buf);
  } catch (err) {
    return fail(`${id}: ${err.message}`);
  }
  for (const [k, v] of Object.entries(data)) {
    if (k === 'seed') continue;
    let got;
    try {
      got = checkValue(v);
    } catch (err) {
      return fail(`${id}.${k}: ${err.message}`);
    }
    if (k === own) {
      if (got !== lastOk[id]) fail(`${id}: own key reads ${got}, last acknowledged ${lastOk[id]}`);
    } else {
      const before = seen.get(id + k) ?? -1;
      if (got < before) fail(`${id}.${k} went back from ${before} to ${got}`);
      seen.set(id + k, got);
    }
  }
  if (lastOk[id] !== undefined && data[own] === undefined) fail(`${id}: own key lost (last acknowledged ${lastOk[id]})`);
}

// Ids only this thread uses (patch mode), with the model of what each holds.
const mine = new Map();
function privateOp() {
  const id = `p${t}-${rnd(200)}`;
  const r = rnd(5);
  const want = mine.get(id);
  if (r === 0) {
    const v = { id, n: ++n };
    store.set(id, rec(v), TTL);
    mine.set(id, v);
  } else if (r === 1) {
    const got = store.get(id);
    if (got === null) mine.delete(id); // evicted: allowed
    else if (want === undefined) fail(`${id}: a record that was never written (or was destroyed) came back`);
    else if (want === 'moved') {
      if (kindOf(got) !== L.KIND_FORWARD) fail(`${id}: expected a forward marker`);
    } else {
      const d = decode(got);
      if (d.id !== id || d.n !== want.n) fail(`${id}: read ${JSON.stringify(d)}, expected ${JSON.stringify(want)}`);
    }
  } else if (r === 2) {
    const out = store.patch(id, patch({ n: ++n }), TTL);
    if (want === undefined && out !== 'gone') fail(`${id}: a patch of an absent id answered ${JSON.stringify(out)}`);
    // A marker may be evicted like any session ('gone'), never patched.
    if (want === 'moved' && out !== 'gone' && out?.movedTo !== `${id}.next`) fail(`${id}: a patch of a moved id answered ${JSON.stringify(out)}`);
    if (out === 'ok') mine.set(id, { ...want, n });
    else if (out === 'gone') mine.delete(id);
  } else if (r === 3) {
    const old = store.forward(id, marker(`${id}.next`), TTL);
    if (old !== null) {
      if (want === undefined || want === 'moved') fail(`${id}: forward returned a record it should not have`);
      else if (decode(old).n !== want.n) fail(`${id}: forward returned a stale record`);
      mine.set(id, 'moved');
    } else if (want !== undefined && want !== 'moved') mine.delete(id); // evicted meanwhile
  } else {
    store.destroy(id);
    mine.delete(id);
    if (store.get(id) !== null) fail(`${id}: destroyed, still there`);
  }
}

function patchMode(i) {
  const r = rnd(100);
  const id = sharedIds[rnd(sharedIds.length)];
  if (r < 45) {
    const v = ++n;
    const out = store.patch(id, patch({ [own]: valueFor(v) }), TTL);
    if (out === 'ok') lastOk[id] = v;
    else fail(`${id}: patch answered ${JSON.stringify(out)} at op ${i}`);
  } else if (r < 75) {
    const got = store.get(id);
    if (got === null) fail(`${id}: a shared session vanished at op ${i}`);
    else checkShared(id, got);
  } else if (r < 82) {
    store.touch(id, TTL);
  } else if (r < 99) {
    privateOp();
  } else {
    const s = store.stats();
    if (s.entries > s.capacity || s.bytes > s.maxBytes) fail(`stats out of bounds: ${JSON.stringify(s)}`);
  }
}

function churnMode(i) {
  const id = `c${rnd(1500)}`;
  const r = rnd(100);
  if (r < 30) {
    store.set(id, rec({ id, w: t, v: valueFor(i), pad: 'z'.repeat(rnd(400)) }), TTL);
  } else if (r < 65) {
    const got = store.get(id);
    if (got === null) return;
    if (kindOf(got) === L.KIND_FORWARD) return;
    try {
      const d = decode(got);
      if (d.id !== id) fail(`read ${id}, got the record of ${d.id}`);
      checkValue(d.v);
      for (let k = 0; k < 4; k++) if (d[`t${k}`] !== undefined) checkValue(d[`t${k}`]);
    } catch (err) {
      fail(`${id}: ${err.message}`);
    }
  } else if (r < 85) {
    const out = store.patch(id, patch({ [own]: valueFor(i) }), TTL);
    if (out !== 'ok' && out !== 'gone' && out?.movedTo !== `${id}.next`) fail(`${id}: patch answered ${JSON.stringify(out)}`);
  } else if (r < 90) {
    store.forward(id, marker(`${id}.next`), TTL);
  } else if (r < 95) {
    store.touch(id, TTL);
  } else if (r < 99) {
    store.destroy(id);
  } else {
    const s = store.stats();
    if (s.entries > s.capacity || s.bytes > s.maxBytes) fail(`stats out of bounds: ${JSON.stringify(s)}`);
  }
}

const step = mode === 'churn' ? churnMode : patchMode;
let done = 0;
try {
  for (; stop ? Atomics.load(stop, 0) === 0 : done < ops; done++) {
    step(done);
    if (progress && (done & 255) === 0) Atomics.store(progress, t, done);
  }
} catch (err) {
  fail(`threw ${err?.stack ?? err}`);
}
parentPort.postMessage({ lastOk, errors, ops: done });
