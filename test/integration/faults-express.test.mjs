// One Redis freeze (SIGSTOP 5 s), three Express apps side by side under the
// same load: hotsession/express on hotsession's RedisStore, hotsession/express
// on connect-redis, and express-session on connect-redis (the baseline). A
// fifth of the requests are new visitors (a session saved with nothing
// loaded first), so saves fail with nothing sent yet, the case #14.10 is about.
//
// Target behaviour, asserted here: a save that failed before anything was
// written answers 503 through the error path, with status/statusCode 503 on
// the error (Express's final handler answers err.status, else 500); no 200 for
// a save the store never acknowledged; every request answered (#14.10, #14.11).
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { faultSkip, printFigures, assertNoCrash, assertAnswered, assertWithin, assertNothingLost } from '../helpers/fault-checks.mjs';
import { redisFreeze, redisSlow } from '../helpers/fault-scenarios.mjs';
import { redisBinaries } from '../helpers/redis-procs.mjs';

const skip = faultSkip(redisBinaries('redis-server'));
const FREEZE_MS = 5000;
const TIMEOUT = 1000; // RedisStore's default
const BOUND = TIMEOUT + 250;
const PER_BATCH_BOUND = 2 * TIMEOUT + 250; // a read batch and a write batch, each timing out
const HS = 'hotsession/express + RedisStore';
const HS_CR = 'hotsession/express + connect-redis';
const ES_CR = 'express-session + connect-redis';

describe(`Express during a Redis freeze (${FREEZE_MS / 1000} s): hotsession/express beside express-session`, { skip, timeout: 120_000 }, () => {
  let results;
  before(async () => {
    results = await redisFreeze({
      stacks: [
        { label: HS, stack: 'express', store: 'redis', sessions: 300 },
        // connect-redis has no timeout: requests wait out the freeze, so more sessions are in flight.
        { label: HS_CR, stack: 'express', store: 'connect-redis', sessions: 700 },
        { label: ES_CR, stack: 'express-session', store: 'connect-redis', sessions: 700 },
      ],
      freezeMs: FREEZE_MS,
      rate: 60,
      loginShare: 0.2,
    });
  });

  test('figures; the freeze was felt by every app', (t) => {
    printFigures(t, results);
    for (const [label, f] of Object.entries(results)) {
      const { down, heal } = f.load.marks;
      // Issued while Redis was stopped: either refused, or held until SIGCONT.
      const during = f.load.requestsBetween(down, heal);
      const felt = during.filter((r) => r.status !== 200 || r.issued + r.ms >= heal);
      assert.ok(during.length > 0 && felt.length > 0, `${label}: nothing noticed the freeze`);
      t.diagnostic(`${label}: max ${f.maxMs} ms, p99 ${f.p99Ms} ms, answers ${JSON.stringify(f.byStatus)}, 200s to unsaved saves ${f.okWhileDown}, lost ${f.lostAcked}/${f.acked}`);
    }
  });

  test('no crash', () => {
    for (const [label, f] of Object.entries(results)) assertNoCrash(label, f);
  });

  test('zero acknowledged writes lost after SIGCONT, on every stack', () => {
    for (const [label, f] of Object.entries(results)) assertNothingLost(label, f);
  });

  test(`${HS}: every request answered within two batch timeouts + 250 ms (${PER_BATCH_BOUND} ms)`, () => {
    assertWithin(HS, results[HS], PER_BATCH_BOUND, 'read + write timeout');
  });

  // One store-time budget for load and commit (#14.13), as faults-redis holds
  // hotsession/http and uws to: the request's write gets what its load left.
  test(`${HS}: every request answered within the store timeout + 250 ms (${BOUND} ms)`, () => {
    assertWithin(HS, results[HS], BOUND, 'timeout + 250 ms');
  });

  test(`${HS}: no 200 for a save Redis never acknowledged`, () => {
    assert.equal(results[HS].okWhileDown, 0, `${results[HS].okWhileDown} saves answered 200 while Redis was frozen`);
  });

  test(`${HS}: every request answered, with 200 or 503`, () => {
    assertAnswered(HS, results[HS]);
  });

  test(`${HS}: the store error reaches the error path with status/statusCode 503`, () => {
    const errors = results[HS].errors;
    assert.ok(Object.keys(errors).length > 0, 'no error reached the error path');
    for (const key of Object.keys(errors)) assert.match(key, / 503$/, `error without status 503: ${key} (${errors[key]}x)`);
  });

  test(`${HS_CR} waits out the freeze as ${ES_CR} does: every request answered 200`, () => {
    for (const label of [HS_CR, ES_CR]) assertAnswered(label, results[label], [200]);
  });
});

// Slow replies (+500 ms) at several times what 32 pending writes carry: the
// saves refused with HOTSESSION_ERR_QUEUE_FULL are never sent, so a 200 for
// one of them is an acknowledged write that is really lost.
describe('Express on slow Redis (+500 ms per reply, maxPending 32): refused saves', { skip, timeout: 120_000 }, () => {
  let f;
  before(async () => {
    const results = await redisSlow({
      stacks: [{ label: HS, stack: 'express', store: 'redis' }],
      slowMs: 6000,
      rate: 160,
      sessions: 500,
      storeOptions: { maxPending: 32 },
    });
    f = results[HS];
  });

  test('figures; saves were refused with HOTSESSION_ERR_QUEUE_FULL', (t) => {
    printFigures(t, { [HS]: f });
    const full = Object.entries(f.errors).filter(([k]) => k.startsWith('HOTSESSION_ERR_QUEUE_FULL ')).reduce((a, [, n]) => a + n, 0);
    assert.ok(full > 0, `no queue-full error: ${JSON.stringify(f.errors)}`);
  });

  test('no crash', () => {
    assertNoCrash(HS, f);
  });

  test('a refused save is answered 503, and no acknowledged write is lost', () => {
    assertAnswered(HS, f);
    assertNothingLost(HS, f);
  });
});
