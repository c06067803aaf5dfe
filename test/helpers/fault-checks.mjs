// What the fault tests (test/integration/faults-*.test.mjs) share besides the
// scenarios: when they run, how they print their figures, and the checks
// every scenario makes.
import assert from 'node:assert/strict';

/**
 * The skip reason of a fault suite, or false. The scenarios exercise stores,
 * adapters and backends, not the codec: scripts/test.js runs every file once
 * per codec, and these run only in the native pass to keep CI short.
 * `others` are backend checks ({ reason } or undefined).
 */
export function faultSkip(...others) {
  if (process.env.HOTSESSION_NO_NATIVE) {
    return 'fault scenarios do not depend on the codec: they run once, in the native-codec pass (HOTSESSION_NO_NATIVE is set)';
  }
  for (const o of others) if (o?.reason) return o.reason;
  return false;
}

/** The figures worth a line in the test output (no per-request data). */
export function summary(f) {
  const { load, samples, stderr, ...rest } = f;
  void load;
  void samples;
  return stderr ? { ...rest, stderr } : rest;
}

/** Prints every app's figures as test diagnostics. */
export function printFigures(t, results) {
  for (const [label, f] of Object.entries(results)) t.diagnostic(`${label}: ${JSON.stringify(summary(f))}`);
}

/** The app process is still up (a crash is an exit the harness saw). */
export function assertNoCrash(label, f) {
  assert.equal(f.crashed, null, `${label} crashed: ${JSON.stringify(f.crashed)} ${f.stderr ?? ''}`);
}

/** Every request got an answer, and only with one of `statuses`. */
export function assertAnswered(label, f, statuses = [200, 503]) {
  assert.equal(f.noAnswer, 0, `${label}: ${f.noAnswer} requests got no answer (${JSON.stringify(f.load.noAnswerReasons)})`);
  const other = Object.keys(f.byStatus).map(Number).filter((s) => !statuses.includes(s));
  assert.deepEqual(other, [], `${label}: answers other than ${statuses.join('/')}: ${JSON.stringify(f.byStatus)}`);
}

/** No request took longer than `boundMs` (`why` names the bound). */
export function assertWithin(label, f, boundMs, why) {
  assert.ok(f.maxMs <= boundMs, `${label}: slowest answer ${f.maxMs} ms > ${boundMs} ms (${why}); p99 ${f.p99Ms} ms`);
}

/** No acknowledged write (a 200 to a save) is missing once the backend is back. */
export function assertNothingLost(label, f) {
  assert.ok(f.acked > 0, `${label}: no write was acknowledged at all`);
  assert.equal(f.unverified, 0, `${label}: ${f.unverified} sessions could not be read back`);
  assert.equal(f.lostAcked, 0, `${label}: ${f.lostAcked} of ${f.acked} acknowledged writes lost (${f.sessionsLost} sessions gone)`);
}

/**
 * Requests succeed again within `withinMs` of the backend being back, and
 * every request issued after that grace succeeded (the figures' graceMs).
 */
export function assertRecovered(label, f, withinMs = 2000) {
  assert.notEqual(f.recoveryMs, null, `${label}: no request succeeded after the heal`);
  assert.ok(f.recoveryMs <= withinMs, `${label}: first success ${f.recoveryMs} ms after the heal (> ${withinMs} ms)`);
  assert.equal(f.failuresAfterGrace, 0, `${label}: ${f.failuresAfterGrace} failures more than 2 s after the heal`);
}

/** The fault was felt: some requests failed with 503 (else the scenario proved nothing). */
export function assertFaultFelt(label, f) {
  assert.ok((f.byStatus[503] ?? 0) > 0, `${label}: no 503 during the fault: was it injected? ${JSON.stringify(f.byStatus)}`);
}
