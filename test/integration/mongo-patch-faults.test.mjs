// Patches when the FerretDB of the test's own is killed with patches in
// flight ('lock' atomicity, its default there) and started again: every
// patch settles with an outcome or a coded error within the bound, a patch
// acknowledged before the crash is stored after it, and every session takes
// patches again once the server is back, including those whose session
// lock the crash left behind (its lease runs out, then it is broken).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { MongoClient } from 'mongodb';
import { MongoStore } from 'hotsession/mongo';
import { ferretBinary, KILL_TEST_SQLITE, startFerret } from '../helpers/ferret-procs.mjs';
import { newId, patch, record, valueOf } from '../helpers/patch-contract.mjs';

const skip = ferretBinary();
const TIMEOUT = 500;
const BOUND = TIMEOUT + 2500;
const TTL = 600_000;
const CODES = ['HOTSESSION_ERR_STORE', 'HOTSESSION_ERR_STORE_TIMEOUT'];

describe('MongoStore patches when FerretDB dies and comes back', { skip: skip?.reason ?? false }, () => {
  let ferret;
  let store;
  before(async () => {
    ferret = await startFerret({ sqliteQuery: KILL_TEST_SQLITE });
    store = new MongoStore({ url: ferret.url, dbName: 'pf', timeout: TIMEOUT, autoRemove: 'disabled' });
  });
  after(async () => {
    await store?.close().catch(() => {});
    await ferret?.destroy();
  });

  test('killed with patches in flight, restarted: acknowledged patches kept, every session patchable again', async (t) => {
    const ids = Array.from({ length: 40 }, newId);
    for (let i = 0; i < ids.length; i += 20) await Promise.all(ids.slice(i, i + 20).map((id) => store.set(id, record({ n: -1 }), TTL)));
    assert.equal(store.atomicity, 'lock');
    // A steady stream of patches, each session its own counter, until the crash.
    const acked = new Map();
    let stop = false;
    const loops = ids.map(async (id) => {
      for (let n = 0; !stop; n++) {
        const t0 = Date.now();
        const x = await store.patch(id, patch({ set: { n } }), TTL).then((v) => v, (e) => e);
        assert.ok(Date.now() - t0 < BOUND + 1000, `a patch settled in ${Date.now() - t0} ms`);
        if (x === 'ok') acked.set(id, n);
        else {
          assert.ok(CODES.includes(x?.code), String(x?.message ?? x));
          await sleep(20);
        }
      }
    });
    // The crash must find acknowledged patches behind it and more in flight: on a
    // loaded machine the first ones can take longer than the 400 ms of load.
    const warm = Date.now() + 10_000;
    await sleep(400);
    while (acked.size === 0 && Date.now() < warm) await sleep(50);
    await ferret.stop();
    await sleep(300);
    stop = true;
    await Promise.all(loops);
    assert.ok(acked.size > 0, 'some patches were acknowledged before the crash');

    await ferret.start();
    const t0 = Date.now();
    // Locks held at the crash outlive it (they are documents) until their lease (5 s here) ends.
    for (const id of ids) {
      for (;;) {
        const x = await store.patch(id, patch({ set: { after: true } }), TTL).then((v) => v, (e) => e);
        if (x === 'ok') break;
        assert.ok(Date.now() - t0 < 15_000, `${id} still refused: ${x?.code} ${x?.message}`);
        await sleep(100);
      }
    }
    t.diagnostic(`${acked.size} of ${ids.length} sessions had a patch acknowledged before the crash; all ${ids.length} patchable ${Date.now() - t0} ms after the restart`);
    const c = new MongoClient(ferret.url);
    try {
      for (const [id, n] of acked) {
        const got = await store.get(id);
        assert.ok(valueOf(got, 'n') >= n, `${id}: acknowledged n=${n}, stored ${valueOf(got, 'n')}`);
      }
      assert.equal(await c.db('pf').collection('sessions.locks').countDocuments(), 0, 'no lock left');
    } finally {
      await c.close();
    }
  });
});
