// Store-level MongoDB bench: sessions read + written per second (a get then
// a set of a ~300-byte session record per session) through each store's own
// API, at several concurrencies, on the same server in the same run:
//   - hotsession MongoStore, batching on: a turn's reads in one go, a turn's
//     writes as one unordered bulkWrite; records are bytes
//   - the same, plus the core's codec work per session (unframe, msgpack
//     decode, encode, frame), to compare like for like with connect-mongo,
//     whose store API parses and stringifies JSON itself
//   - hotsession MongoStore, batching off: one findOne / replaceOne per call
//   - connect-mongo@5 (callback API; stringify: true, its default)
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
//   npm run bench:mongo        (MONGODB_URL, BENCH_TIME_MS=2000, BENCH_CONC=1,100,1000)
// A cell measures for max(BENCH_TIME_MS, 10 ms x concurrency).
// Not part of the tests. Absolute numbers depend on the machine and on the
// server (FerretDB on SQLite is no MongoDB); compare ratios.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import os from 'node:os';
import { startFerret, ferretBinary } from '../test/helpers/ferret-procs.mjs';
import { codecStep, connectStep, storeStep } from './lib/store-steps.mjs';

const require = createRequire(import.meta.url);
const { MongoStore } = require('../dist/stores/mongo.js');
const { codec, isNativeEnabled } = require('../dist/codec/index.js');
const { encodeData, decodeData } = require('../dist/codec/msgpack.js');
const cm = require('connect-mongo');
const ConnectMongo = cm.default ?? cm;
const { MongoClient } = require('mongodb');

const TIME = Number(process.env.BENCH_TIME_MS ?? 2000);
const CONC = (process.env.BENCH_CONC ?? '1,100,1000').split(',').map(Number);
const TTL = 600_000;
// Generous: at concurrency 1000 one round of a slow server (FerretDB/SQLite commits each update) takes seconds.
const STEP_TIMEOUT = 30_000;
const run = randomBytes(4).toString('hex');
const clientOptions = { serverSelectionTimeoutMS: 5000 };

// One session as an app keeps it: ~300 bytes however it is serialized.
const data = {
  user: { id: 48213, name: 'Ada Lovelace', email: 'ada@example.com', roles: ['admin', 'ops'] },
  csrf: randomBytes(24).toString('base64url'),
  cart: [{ sku: 'A-1001', qty: 2 }, { sku: 'B-2002', qty: 1 }, { sku: 'C-3003', qty: 5 }],
  prefs: { theme: 'dark', lang: 'en-GB', tz: 'Europe/London' },
  lastSeen: 1_764_000_000_000,
  views: 0,
  note: 'x'.repeat(60),
};
const expressSession = () => ({ cookie: { originalMaxAge: TTL, expires: new Date(Date.now() + TTL).toISOString(), secure: false, httpOnly: true, path: '/', sameSite: 'lax' }, ...structuredClone(data) });

const ids = (prefix, n) => Array.from({ length: n }, (_, i) => `${prefix}${i.toString().padStart(6, '0')}${randomBytes(13).toString('base64url')}`.slice(0, 32));

/** Rejects when `p` takes longer than STEP_TIMEOUT (connect-mongo has no timeout of its own). */
function bounded(p) {
  let timer;
  return Promise.race([p, new Promise((_, rej) => { timer = setTimeout(() => rej(new Error(`step timed out after ${STEP_TIMEOUT} ms`)), STEP_TIMEOUT); })]).finally(() => clearTimeout(timer));
}

/** Runs `conc` loops of `step(id)` for TIME ms; resolves with steps/s, errors and whether loops hung. */
async function measure(conc, list, step, label) {
  process.stderr.write(`${label}... `);
  let done = 0;
  let errors = 0;
  let stop = false;
  let lastError = null;
  const loop = async (id) => {
    while (!stop) {
      try {
        await bounded(step(id));
        done++;
      } catch (err) {
        errors++;
        lastError = err;
      }
    }
  };
  // A cell lasts at least a few rounds: at high concurrency one step takes about conc / (server's sessions/s).
  const window = Math.max(TIME, conc * 10);
  const warm = Date.now() + Math.max(Math.min(300, TIME / 4), conc * 3);
  const loops = list.slice(0, conc).map(loop);
  while (Date.now() < warm) await new Promise((r) => setTimeout(r, 20));
  done = 0;
  errors = 0;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, window));
  const elapsed = (performance.now() - t0) / 1000;
  const counted = done;
  stop = true;
  await Promise.all(loops);
  const rate = counted / elapsed;
  const stuck = counted === 0 && errors > 0;
  process.stderr.write(`${Math.round(rate)}/s${errors ? ` (${errors} errors: ${lastError?.code ?? ''} ${lastError?.message})` : ''}\n`);
  return { rate, errors, stuck };
}

const fmt = (r) => (r === null || r === undefined ? 'n/a' : r.stuck ? 'stalled' : Math.round(r.rate).toLocaleString('en-US'));
const x = (a, b) => (a && b && !a.stuck && !b.stuck && b.rate ? `${(a.rate / b.rate).toFixed(2)}x` : 'n/a');

/** Seeds `list` in chunks of 50 (more in flight at once can deadlock FerretDB while seeding). */
async function seed(list, write) {
  for (let i = 0; i < list.length; i += 50) await Promise.all(list.slice(i, i + 50).map(write));
}

async function serverName(url) {
  const c = new MongoClient(url, clientOptions);
  try {
    const info = await c.db('admin').command({ buildInfo: 1 });
    return info.ferretdbVersion ? `FerretDB ${info.ferretdbVersion} (SQLite)` : `MongoDB ${info.version}`;
  } finally {
    await c.close();
  }
}

const rec = codec.frame(encodeData(data), 0, Date.now());

/** One contender for one cell: own client, own database, seeded, measured, dropped, closed. */
async function cell(url, kind, conc) {
  const client = new MongoClient(url, clientOptions);
  const dbName = `hotsession_bench_${run}_${kind.replace(/\W/g, '')}_${conc}`;
  const list = ids(kind[0], conc);
  let result;
  try {
    if (kind === 'connect-mongo') {
      const store = ConnectMongo.create({ client, dbName, collectionName: 'sessions', autoRemove: 'disabled' });
      await seed(list, (id) => new Promise((res, rej) => store.set(id, expressSession(), (e) => (e ? rej(e) : res()))));
      await connectStep(store)(list[0]);
      assert.equal((await new Promise((res) => store.get(list[0], (_, s) => res(s)))).views, 1);
      result = await measure(conc, list, connectStep(store), `c=${conc} ${kind}`);
    } else {
      const store = new MongoStore({ client, dbName, timeout: STEP_TIMEOUT, maxPending: 100_000, autoRemove: 'disabled', batch: kind !== 'no batch' });
      await seed(list, (id) => store.set(id, rec, TTL));
      await codecStep(store, TTL)(list[0]);
      assert.equal(decodeData(codec.unframe(await store.get(list[0])).body).views, 1);
      const step = kind === 'batch + codec' ? codecStep(store, TTL) : storeStep(store, rec, TTL);
      result = await measure(conc, list, step, `c=${conc} ${kind}`);
      await store.close().catch(() => {});
    }
    if (!result.stuck) await bounded(client.db(dbName).dropDatabase()).catch(() => {});
  } finally {
    // force: a deadlocked server is freed when its connections go.
    await client.close(true);
  }
  return result;
}

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
  }
  try {
    const name = await serverName(url);
    console.error(`hotsession record: ${rec.length} bytes; connect-mongo session: ${JSON.stringify(expressSession()).length} bytes; ${name} at ${url}`);
    const kinds = ['batch', 'batch + codec', 'no batch', 'connect-mongo'];
    const rows = [];
    for (const conc of CONC) {
      const row = { conc };
      for (const kind of kinds) row[kind] = await cell(url, kind, conc);
      rows.push(row);
    }

    const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
    console.log(`\n## MongoDB store: sessions read + written per second (get + set of one ~300-byte record)\n`);
    console.log(`Node ${process.version}, ${cpu} x${os.cpus().length}, codec: ${isNativeEnabled() ? 'native' : 'JS'}, max(${TIME} ms, 10 ms x concurrency) per cell, ${name}${ferret ? ' (own process, free port)' : ` at ${url}`}`);
    console.log('Each contender on its own mongodb@6 MongoClient and database; connect-mongo@5 via its callback API. "stalled": no step completed (server deadlock or timeouts).\n');
    console.log('| concurrency | hotsession batch | hotsession batch + codec | hotsession no batch | connect-mongo (JSON incl.) | batch / connect-mongo | batch+codec / connect-mongo | batch / no batch |');
    console.log('|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const r of rows) {
      const errs = kinds.reduce((n, k) => n + r[k].errors, 0);
      console.log(`| ${r.conc} | ${fmt(r.batch)} | ${fmt(r['batch + codec'])} | ${fmt(r['no batch'])} | ${fmt(r['connect-mongo'])} | ${x(r.batch, r['connect-mongo'])} | ${x(r['batch + codec'], r['connect-mongo'])} | ${x(r.batch, r['no batch'])}${errs ? ` (${errs} errors)` : ''} |`);
    }
  } finally {
    await ferret?.destroy();
  }
}

await main();
