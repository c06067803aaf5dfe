// Store-level MongoDB bench: sessions read + written per second through
// each store's own API, at several concurrencies, on the same server in the
// same run, with each side's codec counted (bench/lib/patch-steps.mjs):
//   - hotsession MongoStore, batching on, v2 documents (a field per key):
//       store alone:  get + a fixed patch (no codec work)
//       + codec:      get, scan, decode `views`, encode views + 1, patch
//                     (one `$set` of one field; a turn's as one bulkWrite)
//   - the same + codec with batching off
//   - on FerretDB also + codec with atomicity 'update' (what the session
//     locks of the default 'lock' cost there; not safe across processes on it)
//   - connect-mongo@5 (callback API; stringify: true, its default): get +
//     set, its JSON.parse / JSON.stringify inside
// of a ~300-byte session, then "read one key, write one key of a 2 KB
// session" (read `user`, write `lastSeen`) for hotsession + codec against
// connect-mongo. Each cell prints sessions/s and the CPU µs per session of
// this Node process and of the server (when it is the bench's own process).
// Every contender gets its own MongoClient (same options) and its own
// database, fresh for each cell.
//
// Server: MONGODB_URL when set; otherwise a FerretDB of the bench's own
// (the binary scripts/services.sh builds) on a free port. Not the shared one
// on 27017: FerretDB v1 on SQLite deadlocks a database once ~100 updates are
// in flight on it (a pool of 100 SQLite connections, one held per update
// until its command ends), which unbatched stores reach at concurrency 100;
// a deadlocked cell is reported as such (its steps time out after 30 s) and
// its client closed, which frees the server.
//   npm run bench:mongo        (MONGODB_URL, BENCH_TIME_MS=2000, BENCH_CONC=1,100,1000, BENCH_ROUNDS=1)
// A cell measures for max(BENCH_TIME_MS, 10 ms x concurrency).
// Not part of the tests. Absolute numbers depend on the machine and on the
// server (FerretDB on SQLite is no MongoDB); compare ratios.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import os from 'node:os';
import { startFerret, ferretBinary } from '../test/helpers/ferret-procs.mjs';
import { bestOf, cell as show, connectKeyStep, fixedPatchStep, measure, ONE_KEY, patchOf, patchStep, ratio, recordOf, twoKbSession, valueOf } from './lib/patch-steps.mjs';

const require = createRequire(import.meta.url);
const { MongoStore } = require('../dist/stores/mongo.js');
const { isNativeEnabled } = require('../dist/codec/index.js');
const cm = require('connect-mongo');
const ConnectMongo = cm.default ?? cm;
const { MongoClient } = require('mongodb');

const TIME = Number(process.env.BENCH_TIME_MS ?? 2000);
const CONC = (process.env.BENCH_CONC ?? '1,100,1000').split(',').map(Number);
// Each round re-seeds a fresh database per cell (slow on FerretDB): one by default.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const TTL = 600_000;
// Generous: at concurrency 1000 one round of a slow server (FerretDB/SQLite commits each update) takes seconds.
const STEP_TIMEOUT = 30_000;
const run = randomBytes(4).toString('hex');
const clientOptions = { serverSelectionTimeoutMS: 5000 };

// One session as an app keeps it: ~300 bytes however it is serialized.
const small = {
  user: { id: 48213, name: 'Ada Lovelace', email: 'ada@example.com', roles: ['admin', 'ops'] },
  csrf: randomBytes(24).toString('base64url'),
  cart: [{ sku: 'A-1001', qty: 2 }, { sku: 'B-2002', qty: 1 }, { sku: 'C-3003', qty: 5 }],
  prefs: { theme: 'dark', lang: 'en-GB', tz: 'Europe/London' },
  lastSeen: 1_764_000_000_000,
  views: 0,
  note: 'x'.repeat(60),
};
const big = twoKbSession();
const expressSession = (data) => ({ cookie: { originalMaxAge: TTL, expires: new Date(Date.now() + TTL).toISOString(), secure: false, httpOnly: true, path: '/', sameSite: 'lax' }, ...structuredClone(data) });

const ids = (prefix, n) => Array.from({ length: n }, (_, i) => `${prefix}${i.toString().padStart(6, '0')}${randomBytes(13).toString('base64url')}`.slice(0, 32));

/** Rejects when `p` takes longer than STEP_TIMEOUT (connect-mongo has no timeout of its own). */
function bounded(p) {
  let timer;
  return Promise.race([p, new Promise((_, rej) => { timer = setTimeout(() => rej(new Error(`step timed out after ${STEP_TIMEOUT} ms`)), STEP_TIMEOUT); })]).finally(() => clearTimeout(timer));
}

/** The server's CPU time so far in µs when it is a process of this bench (/proc), else null. */
let serverPid;
const TICK_US = 1e6 / 100; // USER_HZ is 100 on Linux
async function serverCpuUs() {
  if (serverPid === undefined) return null;
  try {
    const stat = readFileSync(`/proc/${serverPid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * TICK_US;
  } catch {
    return null;
  }
}

/** Seeds `list` in chunks of 50 (more in flight at once can deadlock FerretDB while seeding). */
async function seed(list, write) {
  for (let i = 0; i < list.length; i += 50) await Promise.all(list.slice(i, i + 50).map(write));
}

async function serverName(url) {
  const c = new MongoClient(url, clientOptions);
  try {
    const info = await c.db('admin').command({ buildInfo: 1 });
    return { ferret: Boolean(info.ferretdbVersion), name: info.ferretdbVersion ? `FerretDB ${info.ferretdbVersion} (SQLite)` : `MongoDB ${info.version}` };
  } finally {
    await c.close();
  }
}

const rec = recordOf(small);
const recBig = recordOf(big);
const fixed = patchOf('views', 7);

/** One contender for one cell: own client, own database, seeded, checked, measured, dropped, closed. */
async function cell(url, kind, conc) {
  const client = new MongoClient(url, clientOptions);
  const dbName = `hotsession_bench_${run}_${kind.replace(/\W/g, '')}_${conc}`;
  const list = ids(kind[0], conc);
  const twoKb = kind.endsWith('2 KB');
  const label = `c=${conc} ${kind}`;
  process.stderr.write(`${label}... `);
  let result;
  try {
    let step;
    let store;
    if (kind.startsWith('connect-mongo')) {
      store = ConnectMongo.create({ client, dbName, collectionName: 'sessions', autoRemove: 'disabled' });
      await seed(list, (id) => new Promise((res, rej) => store.set(id, expressSession(twoKb ? big : small), (e) => (e ? rej(e) : res()))));
      step = connectKeyStep(store, twoKb ? ONE_KEY : undefined);
      await step(list[0]);
      const s = await new Promise((res) => store.get(list[0], (_, v) => res(v)));
      assert.ok(twoKb ? s.lastSeen > big.lastSeen : s.views === 1);
    } else {
      store = new MongoStore({
        client, dbName, timeout: STEP_TIMEOUT, maxPending: 100_000, autoRemove: 'disabled',
        batch: !kind.startsWith('no batch'), atomicity: kind.includes("'update'") ? 'update' : undefined,
      });
      await seed(list, (id) => store.set(id, twoKb ? recBig : rec, TTL));
      step = kind === 'store alone' ? fixedPatchStep(store, fixed, TTL) : patchStep(store, TTL, twoKb ? ONE_KEY : undefined);
      await patchStep(store, TTL, twoKb ? ONE_KEY : undefined)(list[0]);
      const got = await store.get(list[0]);
      assert.ok(twoKb ? valueOf(got, 'lastSeen') > big.lastSeen : valueOf(got, 'views') === 1);
      if (twoKb) assert.deepEqual(valueOf(got, 'user'), big.user);
    }
    // A cell lasts at least a few rounds: at high concurrency one step takes about conc / (server's sessions/s).
    const time = Math.max(TIME, conc * 10);
    result = await measure(conc, list, (id) => bounded(step(id)), { time, warmMs: Math.max(Math.min(300, TIME / 4), conc * 3), serverCpuUs });
    result.stuck = result.rate === 0 && result.errors > 0;
    process.stderr.write(`${result.stuck ? 'stalled' : show(result)}${result.errors ? ` (${result.errors} errors: ${result.lastError?.code ?? ''} ${result.lastError?.message})` : ''}\n`);
    if (store instanceof MongoStore) await store.close().catch(() => {});
    if (!result.stuck) await bounded(client.db(dbName).dropDatabase()).catch(() => {});
  } finally {
    // force: a deadlocked server is freed when its connections go.
    await client.close(true);
  }
  return result;
}

const fmt = (m) => (m === undefined ? 'n/a' : m.stuck ? 'stalled' : show(m));

async function main() {
  let url = process.env.MONGODB_URL;
  let ferret = null;
  if (url === undefined) {
    const missing = ferretBinary();
    if (missing) {
      console.error(`bench:mongo: set MONGODB_URL or build FerretDB: ${missing.reason}`);
      process.exit(1);
    }
    ferret = await startFerret();
    url = ferret.url;
    serverPid = ferret.pid;
  }
  try {
    const { name, ferret: isFerret } = await serverName(url);
    console.error(`records: ${rec.length} / ${recBig.length} bytes (v2); connect-mongo sessions: ${JSON.stringify(expressSession(small)).length} / ${JSON.stringify(expressSession(big)).length} bytes (JSON); ${name} at ${url}`);
    const kinds = ['store alone', 'batch + codec', ...(isFerret ? ["batch + codec, 'update'"] : []), 'no batch + codec', 'connect-mongo', 'batch + codec, 2 KB', 'connect-mongo, 2 KB'];
    const rows = [];
    for (const conc of CONC) rows.push({ conc, ...(await bestOf(ROUNDS, Object.fromEntries(kinds.map((k) => [k, () => cell(url, k, conc)])))) });

    const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
    const errs = (r) => kinds.reduce((n, k) => n + (r[k]?.errors ?? 0), 0);
    console.log('\n## MongoDB store: sessions read + written per second (one key read and written, ~300-byte session)\n');
    console.log(`Node ${process.version}, ${cpu} x${os.cpus().length}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}, codec: ${isNativeEnabled() ? 'native' : 'JS'}, best of ${ROUNDS} rounds of max(${TIME} ms, 10 ms x concurrency) per cell, ${name}${ferret ? ' (own process, free port)' : ` at ${url}`}`);
    console.log(`Each contender on its own mongodb@6 MongoClient and database; hotsession with v2 documents and ${isFerret ? "'lock' atomicity (the default on FerretDB)" : "'update' atomicity"}; connect-mongo@5 via its callback API. "stalled": no step completed (server deadlock or timeouts).`);
    console.log(`Rates in sessions/s; in brackets, CPU µs per session: this Node process / the server (${ferret ? 'its own process, they share the cores' : 'n/a: not a process of this bench'}).\n`);
    const extra = isFerret ? " | hotsession batch + codec, 'update' |" : ' |';
    console.log(`| concurrency | hotsession batch, store alone | hotsession batch + codec${extra} hotsession no batch + codec | connect-mongo (JSON incl.) | batch+codec / connect-mongo | batch / no batch (+codec) | errors |`);
    console.log(`|---:|---:|---:|${isFerret ? '---:|' : ''}---:|---:|---:|---:|---:|`);
    for (const r of rows) {
      const mid = isFerret ? ` | ${fmt(r["batch + codec, 'update'"])} |` : ' |';
      console.log(`| ${r.conc} | ${fmt(r['store alone'])} | ${fmt(r['batch + codec'])}${mid} ${fmt(r['no batch + codec'])} | ${fmt(r['connect-mongo'])} | ${ratio(r['batch + codec'], r['connect-mongo'])} | ${ratio(r['batch + codec'], r['no batch + codec'])} | ${errs(r)} |`);
    }
    console.log(`\n## Read one key, write one key of a 2 KB session (${recBig.length}-byte record; ${JSON.stringify(big).length} bytes of JSON)\n`);
    console.log('| concurrency | hotsession batch + codec | connect-mongo (JSON incl.) | hotsession / connect-mongo |');
    console.log('|---:|---:|---:|---:|');
    for (const r of rows) console.log(`| ${r.conc} | ${fmt(r['batch + codec, 2 KB'])} | ${fmt(r['connect-mongo, 2 KB'])} | ${ratio(r['batch + codec, 2 KB'], r['connect-mongo, 2 KB'])} |`);
  } finally {
    await ferret?.destroy();
  }
}

await main();
