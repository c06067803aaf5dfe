// Memcached killed and restarted, FerretDB (a process of the test's own, the
// MongoDB wire server here) killed and restarted, under a steady write load:
// hotsession/http and hotsession/uws side by side on MemcachedStore and
// MongoStore (each with its default 1000 ms timeout) in child processes.
//
// Memcached is a cache: it comes back empty, so every session it held is
// gone (the app sees no session: 401 here, a fresh session in a real app).
// Those losses are memcached's nature; what must hold is that no session
// ever comes back with an older value. FerretDB keeps its data (SQLite): no
// acknowledged write may be lost.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { faultSkip, printFigures, assertNoCrash, assertAnswered, assertWithin, assertNothingLost, assertRecovered, assertFaultFelt } from '../helpers/fault-checks.mjs';
import { ferretRestart, memcachedKill } from '../helpers/fault-scenarios.mjs';
import { ferretBinary } from '../helpers/ferret-procs.mjs';
import { memcachedBinary } from '../helpers/memcached-procs.mjs';

const TIMEOUT = 1000;
const BOUND = TIMEOUT + 250;
const PER_BATCH_BOUND = 2 * TIMEOUT + 250;

describe('Memcached killed (SIGKILL) and restarted under a steady write load', { skip: faultSkip(memcachedBinary()), timeout: 120_000 }, () => {
  let results;
  before(async () => {
    results = await memcachedKill({
      stacks: [
        { label: 'http', stack: 'http', store: 'memcached', httpSetHeader: true },
        { label: 'uws', stack: 'uws', store: 'memcached' },
      ],
      downMs: 3000,
      rate: 150,
      sessions: 300,
    });
  });

  test('figures; the kill was felt', (t) => {
    printFigures(t, results);
    for (const [label, f] of Object.entries(results)) assertFaultFelt(label, f);
  });

  test('no crash', () => {
    for (const [label, f] of Object.entries(results)) assertNoCrash(label, f);
  });

  test(`every request answered (200, 503, or 401 for a session the restart dropped) within ${BOUND} ms`, () => {
    for (const [label, f] of Object.entries(results)) {
      assertAnswered(label, f, [200, 401, 503]);
      assertWithin(label, f, BOUND, 'timeout + 250 ms');
    }
  });

  test('no save answered 200 while memcached was down', () => {
    for (const [label, f] of Object.entries(results)) assert.equal(f.okWhileDown, 0, label);
  });

  test('sessions come back whole or not at all: no acknowledged write replaced by an older value', () => {
    for (const [label, f] of Object.entries(results)) {
      assert.equal(f.staleAcked, 0, `${label}: ${f.staleAcked} acknowledged writes read back older`);
      assert.equal(f.unverified, 0, label);
    }
  });

  test('recovers within 2 s of the server being back, without an app restart', () => {
    for (const [label, f] of Object.entries(results)) assertRecovered(label, f, 2000);
  });
});

describe('FerretDB (own instance) killed and restarted under a steady write load', { skip: faultSkip(ferretBinary()), timeout: 120_000 }, () => {
  let results;
  before(async () => {
    results = await ferretRestart({
      stacks: [
        { label: 'http', stack: 'http', store: 'mongo', httpSetHeader: true },
        { label: 'uws', stack: 'uws', store: 'mongo' },
      ],
      downMs: 3000,
      afterMs: 6000,
      // FerretDB on SQLite serves a few hundred session requests per second on a
      // quiet machine, far fewer on a busy one, and for seconds after its restart
      // a fraction of that: at 30/s per app on this 2-core box under other jobs'
      // load, its update commands took seconds after the restart (also with the
      // settings of ferretRestart) and the run failed 3 times in 4; at 10/s the
      // store answered in ~25 ms again 0.1 s after the restart.
      rate: 10,
      sessions: 300,
    });
  });

  test('figures; the kill was felt', (t) => {
    printFigures(t, results);
    for (const [label, f] of Object.entries(results)) assertFaultFelt(label, f);
  });

  test('no crash', () => {
    for (const [label, f] of Object.entries(results)) assertNoCrash(label, f);
  });

  test('every request answered, with 200 or 503', () => {
    for (const [label, f] of Object.entries(results)) assertAnswered(label, f);
  });

  test(`every request answered within two batch timeouts + 250 ms (${PER_BATCH_BOUND} ms)`, () => {
    for (const [label, f] of Object.entries(results)) assertWithin(label, f, PER_BATCH_BOUND, 'read + write timeout');
  });

  // While FerretDB starts, reads succeed slowly and the write that follows
  // times out: read time + a whole write timeout.
  test(`every request answered within the store timeout + 250 ms (${BOUND} ms)`, () => {
    for (const [label, f] of Object.entries(results)) assertWithin(label, f, BOUND, 'timeout + 250 ms');
  });

  test('no save answered 200 while FerretDB was down', () => {
    for (const [label, f] of Object.entries(results)) assert.equal(f.okWhileDown, 0, label);
  });

  test('zero acknowledged writes lost across the restart', () => {
    for (const [label, f] of Object.entries(results)) assertNothingLost(label, f);
  });

  // FerretDB on SQLite answers its first ping well before it serves writes at
  // speed again (hundreds of ms to seconds here): recovery is measured from
  // the ping, with a bound of 5 s rather than Redis's 2 s.
  test('recovers within 5 s of the server answering again, without an app restart', () => {
    for (const [label, f] of Object.entries(results)) {
      assert.notEqual(f.recoveryMs, null, `${label}: nothing succeeded after the restart`);
      assert.ok(f.recoveryMs <= 5000, `${label}: first success ${f.recoveryMs} ms after the restart`);
      const late = f.load.requestsBetween(f.load.marks.heal + 5000).filter((r) => r.status !== 200);
      assert.equal(late.length, 0, `${label}: ${late.length} failures more than 5 s after the restart`);
    }
  });
});
