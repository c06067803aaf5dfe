// MemoryStore memory per session against the bytes of its records (#14.14:
// goal <= 2x). Each row runs in a child process of its own (node
// --expose-gc): N sessions are created through the SessionManager, read
// several times and partly rewritten (the "read often, rarely rewritten"
// pattern that used to pin Node's 8 KiB buffer-pool blocks), then the heap
// and external memory are measured against the same process before the
// sessions existed. For contrast, the same workload on a store that keeps
// the buffers it is given (what MemoryStore did before).
//   npm run bench:memory-store [-- --sessions 100000]
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { int, ratio, table } from './lib/format.mjs';

const require = createRequire(import.meta.url);
const { codec } = require('../dist/codec/index.js');
const { KIND_FORWARD, RECORD_HEADER } = require('../dist/codec/layout.js');
const self = fileURLToPath(import.meta.url);
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : process.argv[i + 1];
};

/**
 * The store MemoryStore was before: a Map of the buffers as given. Records
 * (set) are the core's; patched records are codec.apply's output, kept as
 * it returns them (pooled under 4 KiB, like every record buffer the codecs
 * make), which is what MemoryStore kept before it copied into slabs.
 */
class AsGivenStore {
  map = new Map();
  #live(id) {
    const e = this.map.get(id);
    if (e === undefined) return undefined;
    if (e.expiresAt <= Date.now()) {
      this.map.delete(id);
      return undefined;
    }
    return e;
  }
  get(id) {
    return this.#live(id)?.record ?? null;
  }
  set(id, record, ttl) {
    this.map.delete(id);
    this.map.set(id, { record, expiresAt: Date.now() + ttl });
  }
  // The core requires patch and forward (SessionStore in src/stores/types.ts);
  // their outcomes follow that contract so the workload runs as on MemoryStore.
  patch(id, patch, ttl) {
    const e = this.#live(id);
    if (e === undefined) return 'gone';
    if (codec.scan(e.record)?.kind === KIND_FORWARD) return { movedTo: Buffer.from(e.record.subarray(RECORD_HEADER)).toString('latin1') };
    const next = codec.apply(e.record, patch);
    if (next === null) return 'stale';
    e.record = next;
    e.expiresAt = Date.now() + ttl;
    return 'ok';
  }
  forward(id, marker, grace) {
    const e = this.#live(id);
    if (e === undefined) return null;
    const was = e.record;
    e.record = marker;
    e.expiresAt = Date.now() + grace;
    return was;
  }
  touch(id, ttl) {
    const e = this.map.get(id);
    if (e) e.expiresAt = Date.now() + ttl;
  }
  destroy(id) {
    this.map.delete(id);
  }
  async close() {}
  recordBytes() {
    let n = 0;
    for (const e of this.map.values()) n += e.record.length;
    return n;
  }
}

function held() {
  globalThis.gc();
  globalThis.gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, external: m.external, rss: m.rss };
}

function child(kind, sessions) {
  const { createSessionManager, MemoryStore, isNativeEnabled } = require('../dist/index.js');
  const store = kind === 'hotsession' ? new MemoryStore({ max: Math.max(sessions, 100_000) }) : new AsGivenStore();
  const m = createSessionManager('sid', store, { secret: 'memory bench secret' });
  let cookies = new Array(sessions);
  const before = held();
  for (let i = 0; i < sessions; i++) {
    const s = m.load(undefined);
    s.set('user', `user${String(i).padStart(6, '0')}`);
    s.set('roles', ['reader', 'writer']);
    s.set('cart', [{ sku: `SKU-${i % 997}`, qty: 1 + (i % 3), price: 19.99 }]);
    s.set('prefs', { theme: i % 2 ? 'dark' : 'light', lang: 'en', tz: 'Europe/Berlin' });
    s.set('csrf', randomBytes(16).toString('hex'));
    s.set('visits', 1);
    const h = m.commit(s);
    cookies[i] = h[0].slice(0, h[0].indexOf(';'));
  }
  // Read often, rarely rewritten: three reads each, one session in ten rewritten.
  for (let pass = 0; pass < 3; pass++) {
    for (let i = 0; i < sessions; i++) {
      const s = m.load(cookies[i]);
      const visits = s.get('visits');
      assert.equal(typeof visits, 'number');
      if (i % 10 === pass) s.set('visits', visits + 1);
      m.commit(s);
    }
  }
  // The check: every session reads back.
  assert.equal(m.load(cookies[sessions - 1]).get('user'), `user${String(sessions - 1).padStart(6, '0')}`);
  cookies = null;
  const after = held();
  const records = kind === 'hotsession' ? store.stats().bytes : store.recordBytes();
  const size = kind === 'hotsession' ? store.size : store.map.size;
  assert.equal(size, sessions);
  const delta = after.heap + after.external - (before.heap + before.external);
  process.stdout.write(JSON.stringify({
    kind, native: isNativeEnabled(), sessions, recordBytes: records / sessions, heldBytes: delta / sessions,
    heapBytes: (after.heap - before.heap) / sessions, externalBytes: (after.external - before.external) / sessions,
    rssMB: (after.rss - before.rss) / 1048576,
    allocated: kind === 'hotsession' ? store.stats().allocated / sessions : null,
  }));
}

if (process.argv[2] === '--child') {
  child(process.argv[3], Number(process.argv[4]));
} else {
  const sessions = Number(arg('sessions', 100_000));
  const rows = [];
  let native = null;
  for (const kind of ['hotsession', 'as-given']) {
    const r = spawnSync(process.execPath, ['--expose-gc', self, '--child', kind, String(sessions)], { encoding: 'utf8', env: process.env });
    if (r.status !== 0) {
      process.stderr.write(r.stderr);
      process.exit(1);
    }
    const o = JSON.parse(r.stdout);
    native = o.native;
    rows.push([
      kind === 'hotsession' ? 'MemoryStore (slabs of its own)' : 'buffers kept as given (MemoryStore before)',
      int(o.sessions), int(o.recordBytes), int(o.heldBytes), ratio(o.heldBytes / o.recordBytes),
      int(o.heapBytes), int(o.externalBytes), o.allocated === null ? '-' : int(o.allocated), `${o.rssMB.toFixed(0)} MB`,
    ]);
  }
  console.log(`Node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'}, codec ${native ? 'native' : 'JS'}; ${int(sessions)} sessions, each read 3x, one in ten rewritten per pass.`);
  console.log('Bytes per session: record = the stored record; held = heap + external memory the sessions added (gc\'d);');
  console.log('slabs = memory the store holds for records (headers and not yet compacted space included).\n');
  console.log(table(
    ['store', 'sessions', 'record B', 'held B', 'held / record', 'heap B', 'external B', 'slabs B', 'RSS delta'],
    rows, ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
  ));
}
