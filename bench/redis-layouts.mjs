// Where the CPU of a per-key Redis write goes, by layout (issue #13 asks for
// 2x / 3x connect-redis at the store level; bench/stores-redis.mjs prints the
// CPU bound that this bench explains). One session of 7 keys (~300 B), 100
// sessions in flight, each step reads the session and writes one key:
//   string + JSON  connect-redis's shape: GET, JSON.parse, views++, JSON.stringify,
//                  SET PX (no atomicity: two overlapping steps lose a write)
//   v2 record      hotsession's: RedisStore get, then a one-key patch through the
//                  write script (batched EVALSHA, the record walked and checked on
//                  redis-server, applied only to a live record)
//   hash           the layout issue #13 names as the other choice: HGETALL of
//                  msgpack fields, then a one-line script "if the key exists,
//                  HSET the field and PEXPIRE" (atomic per key, no resurrection,
//                  none of the record checks)
// Prints sessions/s and CPU µs per session of this process and of
// redis-server (INFO cpu), best of 3 rounds, the contenders alternating.
//   npm run bench:redis-layouts   (REDIS_URL, default redis://127.0.0.1:6379)
import { createRequire } from 'node:module';
import { cell, measure, patchStep, recordOf } from './lib/patch-steps.mjs';

const require = createRequire(import.meta.url);
const Redis = require('ioredis');
const { RedisStore } = require('../dist/stores/redis.js');
const { encodeValue, decodeValue } = require('../dist/codec/msgpack.js');

const URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const N = 100;
const TTL = 600_000;
const TIME = Number(process.env.BENCH_MS ?? 2000);
const prefix = `hs:bench-layouts:${process.pid}:`;
const ids = Array.from({ length: N }, (_, i) => `${i}`.padStart(32, '0'));

const session = () => ({
  cookie: { originalMaxAge: 86_400_000, expires: new Date(Date.now() + 86_400_000).toISOString(), httpOnly: true, path: '/' },
  user: 'ada@example.com',
  views: 1,
  cart: [101, 202, 303],
  prefs: { theme: 'dark', lang: 'en' },
  csrf: 'x'.repeat(32),
  lastSeen: Date.now(),
});

const info = new Redis(URL);
async function redisCpuUs() {
  const t = await info.info('cpu');
  return (Number(/used_cpu_user:([\d.]+)/.exec(t)[1]) + Number(/used_cpu_sys:([\d.]+)/.exec(t)[1])) * 1e6;
}

// string + JSON, auto-pipelined as node-redis pipelines a tick's commands.
const plain = new Redis(URL, { enableAutoPipelining: true });
const jsonKey = (id) => `${prefix}json:${id}`;
for (const id of ids) await plain.set(jsonKey(id), JSON.stringify(session()), 'PX', TTL);
const stepJson = async (id) => {
  const s = JSON.parse(await plain.get(jsonKey(id)));
  s.views++;
  await plain.set(jsonKey(id), JSON.stringify(s), 'PX', TTL);
};

const storeClient = new Redis(URL);
const store = new RedisStore({ client: storeClient, prefix: `${prefix}v2:` });
for (const id of ids) await store.set(id, recordOf(session()), TTL);
const stepV2 = patchStep(store, TTL);

const hashes = new Redis(URL, { enableAutoPipelining: true });
hashes.defineCommand('hpatch', {
  numberOfKeys: 1,
  lua: "if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]); redis.call('PEXPIRE', KEYS[1], ARGV[3]); return 0 end return 1",
});
const hashKey = (id) => `${prefix}hash:${id}`;
for (const id of ids) {
  const fields = [];
  for (const [k, v] of Object.entries(session())) fields.push(k, Buffer.from(encodeValue(k, v)));
  await hashes.multi().hset(hashKey(id), ...fields).pexpire(hashKey(id), TTL).exec();
}
const stepHash = async (id) => {
  const h = await hashes.hgetallBuffer(hashKey(id));
  if (h.views === undefined) throw new Error('lost a session');
  const views = decodeValue(h.views, 0, h.views.length);
  if ((await hashes.hpatch(hashKey(id), 'views', Buffer.from(encodeValue('views', views + 1)), TTL)) !== 0) throw new Error('session gone');
};

const rows = [
  ['string + JSON (connect-redis shape, not atomic)', stepJson],
  ['v2 record + write script (hotsession)', stepV2],
  ['hash per session + EXISTS/HSET script', stepHash],
];
const best = new Map();
for (let round = 0; round < 3; round++) {
  for (const [name, step] of rows) {
    const m = await measure(N, ids, step, { time: TIME, serverCpuUs: redisCpuUs });
    if (m.errors) throw new Error(`${name}: ${m.errors} errors, the last: ${m.lastError?.message}`);
    if (!best.has(name) || m.rate > best.get(name).rate) best.set(name, m);
  }
}

console.log(`## Redis layouts: read a 7-key session, write one key (c=${N}, best of 3 rounds of ${TIME} ms)\n`);
console.log('Rates in sessions/s; in brackets, CPU µs per session: this Node process / redis-server.\n');
console.log('| layout | sessions/s (Node / redis-server µs) |\n|---|---:|');
for (const [name, m] of best) console.log(`| ${name} | ${cell(m)} |`);

const keys = await info.keys(`${prefix}*`);
if (keys.length > 0) await info.del(...keys);
await store.close();
for (const c of [plain, storeClient, hashes, info]) c.disconnect();
