// Patches when the memcached of the test's own dies or hangs mid-stream:
// they fail fast with coded errors (never hang, never report a write that
// did not happen), the compare-and-swap loop stops when its batch times out,
// and the same store serves again once memcached is back.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { MemcachedStore } from 'hotsession/memcached';
import { memcachedBinary, startMemcached, stats } from '../helpers/memcached-procs.mjs';
import { newId, patch, record, valueOf } from '../helpers/patch-contract.mjs';

const skip = memcachedBinary();
const TIMEOUT = 400;
// "Fails quickly": generous for a loaded machine, far below a hang.
const BOUND = TIMEOUT + 4000;
const TTL = 60_000;
const CODES = ['HOTSESSION_ERR_STORE', 'HOTSESSION_ERR_STORE_TIMEOUT'];

describe('MemcachedStore patches under faults', { skip: skip?.reason ?? false }, () => {
  let mc;
  let store;
  before(async () => {
    mc = await startMemcached();
    store = new MemcachedStore({ servers: mc.servers, prefix: 'pf:', timeout: TIMEOUT });
  });
  after(async () => {
    mc?.resume();
    await store?.close();
    await mc?.destroy();
  });

  test('killed with patches in flight: coded errors within the timeout; restarted: the lost session is gone, new ones patch', async () => {
    const ids = Array.from({ length: 20 }, newId);
    await Promise.all(ids.map((id) => store.set(id, record({ n: 0 }), TTL)));
    const t0 = Date.now();
    const inFlight = ids.map((id, i) => store.patch(id, patch({ set: { n: i } }), TTL).then((x) => x, (e) => e));
    await mc.stop();
    const outcomes = await Promise.all(inFlight);
    assert.ok(Date.now() - t0 < BOUND);
    for (const x of outcomes) assert.ok(x === 'ok' || CODES.includes(x?.code), String(x?.message ?? x));
    const after = await Promise.all(ids.map((id) => store.patch(id, patch({ set: { n: 99 } }), TTL).then((x) => x, (e) => e)));
    assert.ok(after.every((e) => CODES.includes(e?.code)), 'still down: coded errors');

    await mc.restart();
    // memcached lost everything: a patch finds no session (no resurrection by a patch).
    assert.equal(await store.patch(ids[0], patch({ set: { n: 1 } }), TTL), 'gone');
    const id = newId();
    await store.set(id, record({ n: 0 }), TTL);
    assert.equal(await store.patch(id, patch({ set: { n: 1 } }), TTL), 'ok');
    assert.equal(valueOf(await store.get(id), 'n'), 1);
  });

  test('frozen mid-swap: STORE_TIMEOUT within the bound, no retries after the batch gave up, serving again after SIGCONT', async () => {
    const id = newId();
    await store.set(id, record({ n: 0 }), TTL);
    await store.get(id);
    await mc.pause();
    const t0 = Date.now();
    const err = await store.patch(id, patch({ set: { n: 1 } }), TTL).catch((e) => e);
    assert.equal(err.code, 'HOTSESSION_ERR_STORE_TIMEOUT');
    assert.ok(Date.now() - t0 < BOUND, `answered in ${Date.now() - t0} ms`);
    mc.resume();
    // Whatever the frozen server does with the bytes it had, the store sends nothing more for that op.
    await sleep(200);
    const s0 = await stats(mc.port);
    await sleep(300);
    const s1 = await stats(mc.port);
    assert.equal(Number(s1.cmd_set) - Number(s0.cmd_set), 0, 'no swap retried after its batch timed out');
    assert.equal(await store.patch(id, patch({ set: { m: 2 } }), TTL), 'ok');
    assert.equal(valueOf(await store.get(id), 'm'), 2);
  });
});
