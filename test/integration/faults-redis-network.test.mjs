// Redis behind a TCP proxy of the test's own (test/helpers/fault-proxy.mjs):
// a black hole (connections open, nothing forwarded) for 10 s, and slow
// replies (+500 ms each) at several times the load the store's write cap
// lets through. hotsession/http and hotsession/uws side by side on RedisStore
// (ioredis, maxRetriesPerRequest: 1, default 1000 ms timeout), in child
// processes whose RSS and queues the figures report.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { faultSkip, printFigures, assertNoCrash, assertAnswered, assertWithin, assertNothingLost, assertRecovered, assertFaultFelt } from '../helpers/fault-checks.mjs';
import { redisBlackhole, redisSlow } from '../helpers/fault-scenarios.mjs';
import { redisBinaries } from '../helpers/redis-procs.mjs';

const skip = faultSkip(redisBinaries('redis-server'));
const TIMEOUT = 1000;
const BOUND = TIMEOUT + 250;
const PER_BATCH_BOUND = 2 * TIMEOUT + 250;
const RSS_BOUND_MB = 50;
const stacks = [
  { label: 'http', stack: 'http', store: 'redis', httpSetHeader: true },
  { label: 'uws', stack: 'uws', store: 'redis' },
];

/** The store's own count of pending writes stayed within its cap (RedisStore exposes none before #14.12). */
function assertPendingCapped(label, f, cap) {
  assert.notEqual(f.maxPending, null, `${label}: the store reports no pending count`);
  assert.ok(f.maxPending <= cap, `${label}: ${f.maxPending} writes pending > maxPending ${cap}`);
}

/** Commands queued inside ioredis (command + offline queues) stayed within the store's cap. */
function assertDriverCapped(label, f, cap) {
  assert.ok(f.maxDriverQueue <= cap, `${label}: ${f.maxDriverQueue} commands queued in ioredis > maxPending ${cap}`);
}

describe('Redis black-holed for 10 s (a proxy forwards nothing, connections stay open)', { skip, timeout: 120_000 }, () => {
  const MAX_PENDING = 200;
  let results;
  before(async () => {
    results = await redisBlackhole({ stacks, holeMs: 10_000, rate: 120, sessions: 300, storeOptions: { maxPending: MAX_PENDING } });
  });

  test('figures; the black hole was felt', (t) => {
    printFigures(t, results);
    for (const [label, f] of Object.entries(results)) assertFaultFelt(label, f);
  });

  test('no crash', () => {
    for (const [label, f] of Object.entries(results)) assertNoCrash(label, f);
  });

  test('every request answered, with 200 or 503', () => {
    for (const [label, f] of Object.entries(results)) assertAnswered(label, f);
  });

  test(`bounded latency: every request within two batch timeouts + 250 ms (${PER_BATCH_BOUND} ms)`, () => {
    for (const [label, f] of Object.entries(results)) assertWithin(label, f, PER_BATCH_BOUND, 'read + write timeout');
  });

  test(`bounded latency: every request within the store timeout + 250 ms (${BOUND} ms)`, () => {
    for (const [label, f] of Object.entries(results)) assertWithin(label, f, BOUND, 'timeout + 250 ms');
  });

  test(`bounded RSS: growth under ${RSS_BOUND_MB} MB`, () => {
    for (const [label, f] of Object.entries(results)) assert.ok(f.rssGrowthMB < RSS_BOUND_MB, `${label}: RSS grew ${f.rssGrowthMB} MB`);
  });

  test('no save answered 200 while nothing reached Redis', () => {
    for (const [label, f] of Object.entries(results)) assert.equal(f.okWhileDown, 0, label);
  });

  test('zero acknowledged writes lost', () => {
    for (const [label, f] of Object.entries(results)) assertNothingLost(label, f);
  });

  test('recovers within 2 s of the heal', () => {
    for (const [label, f] of Object.entries(results)) assertRecovered(label, f, 2000);
  });

  test(`commands outstanding in ioredis stay within maxPending (${MAX_PENDING})`, () => {
    for (const [label, f] of Object.entries(results)) assertDriverCapped(label, f, MAX_PENDING);
  });

  test(`the store's pending count is exposed and within maxPending (${MAX_PENDING})`, () => {
    for (const [label, f] of Object.entries(results)) assertPendingCapped(label, f, MAX_PENDING);
  });
});

describe('Slow Redis (+500 ms per reply) at several times the load it can serve', { skip, timeout: 120_000 }, () => {
  // About 500 ms in flight per write: 32 pending writes carry ~64 writes/s; the load is 160 req/s per app.
  const MAX_PENDING = 32;
  let results;
  before(async () => {
    results = await redisSlow({ stacks, delayMs: 500, slowMs: 8000, rate: 160, sessions: 500, storeOptions: { maxPending: MAX_PENDING } });
  });

  test('figures', (t) => {
    printFigures(t, results);
  });

  test('no crash', () => {
    for (const [label, f] of Object.entries(results)) assertNoCrash(label, f);
  });

  test('overflow is refused with HOTSESSION_ERR_QUEUE_FULL, answered as 503', () => {
    for (const [label, f] of Object.entries(results)) {
      assertAnswered(label, f);
      const full = Object.entries(f.errors).filter(([k]) => k.startsWith('HOTSESSION_ERR_QUEUE_FULL ')).reduce((a, [, n]) => a + n, 0);
      assert.ok(full > 0, `${label}: no HOTSESSION_ERR_QUEUE_FULL: ${JSON.stringify(f.errors)}`);
      assert.ok(f.byStatus[503] >= full, `${label}: ${full} queue-full errors but ${f.byStatus[503] ?? 0} 503s`);
    }
  });

  test(`RSS growth under ${RSS_BOUND_MB} MB`, () => {
    for (const [label, f] of Object.entries(results)) assert.ok(f.rssGrowthMB < RSS_BOUND_MB, `${label}: RSS grew ${f.rssGrowthMB} MB`);
  });

  test(`every request answered within two batch timeouts + 250 ms (${PER_BATCH_BOUND} ms)`, () => {
    for (const [label, f] of Object.entries(results)) assertWithin(label, f, PER_BATCH_BOUND, 'read + write timeout');
  });

  // A request waits ~500 ms for its read and ~500 ms for its write: each batch
  // is within the timeout, the request is not.
  test(`every request answered within the store timeout + 250 ms (${BOUND} ms)`, () => {
    for (const [label, f] of Object.entries(results)) assertWithin(label, f, BOUND, 'timeout + 250 ms');
  });

  test('zero acknowledged writes lost', () => {
    for (const [label, f] of Object.entries(results)) assertNothingLost(label, f);
  });

  test('recovers once replies are fast again', () => {
    // Replies already delayed still arrive up to 500 ms late after the heal.
    for (const [label, f] of Object.entries(results)) assertRecovered(label, f, 2000);
  });

  test(`pending writes capped at maxPending (${MAX_PENDING}), as the store reports them`, () => {
    for (const [label, f] of Object.entries(results)) assertPendingCapped(label, f, MAX_PENDING);
  });

  test(`commands outstanding in ioredis capped at maxPending (${MAX_PENDING}), reads included`, () => {
    for (const [label, f] of Object.entries(results)) assertDriverCapped(label, f, MAX_PENDING);
  });
});
