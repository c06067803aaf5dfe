// Redis frozen and Redis killed under a steady write load (issue #14, "Faults
// under load"): the hotsession/http and hotsession/uws apps run side by side
// in child processes on RedisStore (ioredis, maxRetriesPerRequest: 1, the
// store's default 1000 ms timeout) against a redis-server of this file's own.
// A 200 to a write is an acknowledged write; each must read back afterwards.
import { describe, test, before } from 'node:test';
import { faultSkip, printFigures, assertNoCrash, assertAnswered, assertWithin, assertNothingLost, assertRecovered, assertFaultFelt } from '../helpers/fault-checks.mjs';
import { redisFreeze, redisKill } from '../helpers/fault-scenarios.mjs';
import { redisBinaries } from '../helpers/redis-procs.mjs';

const skip = faultSkip(redisBinaries('redis-server'));
const TIMEOUT = 1000; // RedisStore's default
// The app answers with its own work on top of the store's: 250 ms of slack is the bound.
const BOUND = TIMEOUT + 250;
// Today a request has a read batch and a write batch, each with its own timeout (#14.13).
const PER_BATCH_BOUND = 2 * TIMEOUT + 250;
const stacks = [
  // statusCode/setHeader + end: headers stay unsent until the save answered (see the writeHead case below).
  { label: 'http', stack: 'http', store: 'redis', httpSetHeader: true },
  { label: 'uws', stack: 'uws', store: 'redis' },
];

describe('Redis frozen (SIGSTOP) for 5 s under a steady write load', { skip, timeout: 120_000 }, () => {
  let results;
  before(async () => {
    results = await redisFreeze({ stacks, freezeMs: 5000, rate: 150, sessions: 300 });
  });

  test('figures; the freeze was felt', (t) => {
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

  test(`every request answered within the store timeout + 250 ms (${BOUND} ms)`, () => {
    for (const [label, f] of Object.entries(results)) assertWithin(label, f, BOUND, 'timeout + 250 ms');
  });

  test('no save answered 200 while Redis was frozen', () => {
    for (const [label, f] of Object.entries(results)) assert0(label, f.okWhileDown, 'saves answered 200 while Redis could not acknowledge them');
  });

  test('zero acknowledged writes lost after SIGCONT', () => {
    for (const [label, f] of Object.entries(results)) assertNothingLost(label, f);
  });

  test('recovers within 2 s of SIGCONT, without a restart', () => {
    for (const [label, f] of Object.entries(results)) assertRecovered(label, f, 2000);
  });
});

describe('Redis killed (SIGKILL) and restarted under a steady write load', { skip, timeout: 120_000 }, () => {
  let results;
  before(async () => {
    results = await redisKill({
      stacks: [
        ...stacks,
        // node:http's usual style: writeHead(status, headers) then end(body).
        { label: 'http-writeHead', stack: 'http', store: 'redis' },
      ],
      downMs: 3000,
      rate: 120,
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
    for (const label of ['http', 'uws']) assertAnswered(label, results[label]);
  });

  // hotsession/http starts the save at writeHead(); when it fails, the headers
  // count as sent (res.headersSent), so the adapter destroys the socket instead
  // of answering 503. The request gets no answer (not a false 200).
  test('with writeHead() before end(), a failed save is still answered (503)', { todo: 'hotsession/http destroys the socket when a save started at writeHead() fails (docs/reliability.md, known gaps)' }, () => {
    assertAnswered('http-writeHead', results['http-writeHead']);
  });

  test(`every request answered within two batch timeouts + 250 ms (${PER_BATCH_BOUND} ms)`, () => {
    for (const [label, f] of Object.entries(results)) assertWithin(label, f, PER_BATCH_BOUND, 'read + write timeout');
  });

  test(`every request answered within the store timeout + 250 ms (${BOUND} ms)`, () => {
    for (const [label, f] of Object.entries(results)) assertWithin(label, f, BOUND, 'timeout + 250 ms');
  });

  test('no save answered 200 while Redis was down', () => {
    for (const [label, f] of Object.entries(results)) assert0(label, f.okWhileDown, 'saves answered 200 while Redis was dead');
  });

  test('zero acknowledged writes lost (Redis runs with an fsynced AOF)', () => {
    for (const [label, f] of Object.entries(results)) assertNothingLost(label, f);
  });

  test('recovers within 2 s of the server being back, without an app restart', () => {
    for (const [label, f] of Object.entries(results)) assertRecovered(label, f, 2000);
  });
});

function assert0(label, n, what) {
  if (n !== 0) throw new Error(`${label}: ${n} ${what}`);
}
