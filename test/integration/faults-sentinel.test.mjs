// Redis Sentinel failover under load: a master, replica(s) and one Sentinel
// of the test's own (`redis-server <conf> --sentinel`), apps on RedisStore
// over an ioredis client in sentinel mode. The master is killed (SIGKILL,
// never restarted); Sentinel promotes a replica; the apps must serve again
// without a restart.
//
// Replication is asynchronous: a write the old master acknowledged and had
// not yet sent to the replica is lost at the promotion (Redis's known limit).
// The second suite measures that loss with a replica 30 ms behind, beside a
// prototype of WAIT-based acknowledgement (test/helpers/redis-wait.mjs).
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { faultSkip, printFigures, assertNoCrash, assertAnswered, assertWithin, assertRecovered, assertFaultFelt } from '../helpers/fault-checks.mjs';
import { sentinelFailover } from '../helpers/fault-scenarios.mjs';
import { redisBinaries } from '../helpers/redis-procs.mjs';

const skip = faultSkip(redisBinaries('redis-server'));
const TIMEOUT = 1000;
const BOUND = TIMEOUT + 250;

describe('Sentinel: a master and a replica, the master killed under load', { skip, timeout: 120_000 }, () => {
  let results;
  before(async () => {
    results = await sentinelFailover({
      stacks: [
        { label: 'http', stack: 'http', store: 'redis', httpSetHeader: true },
        { label: 'uws', stack: 'uws', store: 'redis' },
      ],
      rate: 120,
      sessions: 300,
    });
  });

  test('figures: unavailability window and writes lost at the promotion', (t) => {
    printFigures(t, results);
    for (const [label, f] of Object.entries(results)) {
      assertFaultFelt(label, f);
      t.diagnostic(`${label}: promoted ${f.promotedMs} ms after the kill; failures for ${f.unavailableMs} ms; ${f.lostAcked} of ${f.acked} acknowledged writes lost (async replication on loopback)`);
    }
  });

  test('no crash', () => {
    for (const [label, f] of Object.entries(results)) assertNoCrash(label, f);
  });

  test(`every request answered with 200 or 503 within the store timeout + 250 ms (${BOUND} ms)`, () => {
    for (const [label, f] of Object.entries(results)) {
      assertAnswered(label, f);
      assertWithin(label, f, BOUND, 'timeout + 250 ms');
    }
  });

  test('no save answered 200 while there was no master', () => {
    // 'down' is the kill, 'up' the last look at Sentinel before it named the new master: no master accepted writes in between.
    for (const [label, f] of Object.entries(results)) assert.equal(f.okWhileDown, 0, label);
  });

  test('after the promotion requests succeed again without an app restart (within 2 s)', () => {
    for (const [label, f] of Object.entries(results)) assertRecovered(label, f, 2000);
  });
});

describe('Sentinel with replicas 30 ms behind: acknowledged writes lost, and WAIT-based acknowledgement (prototype)', { skip, timeout: 120_000 }, () => {
  let results;
  before(async () => {
    results = await sentinelFailover({
      stacks: [
        { label: 'plain', stack: 'http', store: 'redis', httpSetHeader: true, rate: 150 },
        // Each write batch followed by WAIT 1 500: a save is acknowledged once one replica has it.
        // Two replicas, so one is left to confirm writes after the other is promoted.
        { label: 'wait', stack: 'http', store: 'redis', httpSetHeader: true, wait: { replicas: 1, timeout: 500 }, rate: 60 },
      ],
      replicas: 2,
      replicaLagMs: 30,
      sessions: 300,
    });
  });

  test('figures', (t) => {
    printFigures(t, results);
    for (const [label, f] of Object.entries(results)) {
      t.diagnostic(`${label}: ${f.lostAcked} of ${f.acked} acknowledged writes lost; failures for ${f.unavailableMs} ms; p99 ${f.p99Ms} ms`);
    }
  });

  test('no crash', () => {
    for (const [label, f] of Object.entries(results)) assertNoCrash(label, f);
  });

  // Not asserted as zero: WAIT 1 of 2 replicas says one replica has the write, not that
  // Sentinel promotes that one (one CI run lost 1 of ~300 this way). The figures show both.
  test('with WAIT, writes lost at the promotion are reported (figures)', (t) => {
    t.diagnostic(`wait: ${results.wait.lostAcked} of ${results.wait.acked} acknowledged writes lost; plain: ${results.plain.lostAcked} of ${results.plain.acked}`);
    assert.ok(results.wait.acked > 0, 'WAIT acknowledged some writes');
  });

  test('with WAIT, requests succeed again after the promotion (one replica is left to confirm)', () => {
    assertRecovered('wait', results.wait, 2000);
  });

  test('without WAIT, the app recovers too (its losses are in the figures)', () => {
    assertRecovered('plain', results.plain, 2000);
  });
});
