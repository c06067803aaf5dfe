// FerretDB killed and started again under a live node:http server: while it
// is down requests fail fast (503 within the store's timeout, no crash, no
// hang); once it is back on the same port the same store serves again
// without being recreated. The server is a FerretDB process of this test's
// own, on a free port, with its own data dir.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { MongoClient } from 'mongodb';
import { MongoStore } from 'hotsession/mongo';
import { startHttp } from '../helpers/http-harness.mjs';
import { Jar, request } from '../helpers/jar.mjs';
import { ferretBinary, startFerret } from '../helpers/ferret-procs.mjs';

const skip = ferretBinary();
const TIMEOUT = 500;
// Generous slack over the store timeout for a loaded shared machine; a hang would be the driver's 30 s.
const BOUND = TIMEOUT + 2500;

async function timed(fn) {
  const t0 = Date.now();
  const r = await fn();
  return { r, ms: Date.now() - t0 };
}

async function until(what, fn, ms = 20_000) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    last = await fn();
    if (last.ok) return last;
    await sleep(100);
  }
  throw new Error(`${what}: not recovered after ${ms} ms (last status ${last?.status})`);
}

describe('MongoStore when FerretDB dies and comes back', { skip: skip?.reason ?? false }, () => {
  let ferret;
  const cleanup = [];
  before(async () => {
    ferret = await startFerret();
  });
  after(async () => {
    for (const fn of cleanup.reverse()) await fn();
    await ferret?.destroy();
  });

  const cases = [
    ['its own client (url)', () => new MongoStore({ url: ferret.url, dbName: 'faults', collection: 'own', timeout: TIMEOUT, autoRemove: 'interval' })],
    ['a given client with the documented settings', () => {
      const client = new MongoClient(ferret.url, { serverSelectionTimeoutMS: TIMEOUT });
      cleanup.push(() => client.close());
      return new MongoStore({ client, dbName: 'faults', collection: 'given', timeout: TIMEOUT, autoRemove: 'interval' });
    }],
  ];

  for (const [label, makeStore] of cases) {
    test(`${label}: 503 fast while down, serves again after the restart`, async (t) => {
      const store = makeStore();
      const errors = [];
      const srv = await startHttp([{ name: 'sid', store }], { secret: 'faults', onError: (e) => errors.push(e) });
      cleanup.push(() => store.close().catch(() => {}));
      cleanup.push(() => srv.close());

      const jar = new Jar();
      assert.equal((await request(srv.url, '/set?user=ada', jar)).status, 200);
      assert.deepEqual((await request(srv.url, '/get?k=user', jar)).body, { value: 'ada' });

      await ferret.stop();
      // Reads (a known cookie) and writes (a new session) both fail, alone and many at once.
      for (const path of ['/get?k=user', '/set?x=1']) {
        const { r, ms } = await timed(() => request(srv.url, path, path.startsWith('/get') ? jar : new Jar()));
        assert.equal(r.status, 503, `${path} while down`);
        assert.ok(ms < BOUND, `${path} answered in ${ms} ms`);
        t.diagnostic(`${path} while down: ${r.status} in ${ms} ms`);
      }
      const { r: burst, ms } = await timed(() => Promise.all(Array.from({ length: 30 }, (_, i) => request(srv.url, i % 2 ? '/get?k=user' : '/set?y=2', i % 2 ? jar : new Jar()))));
      assert.deepEqual([...new Set(burst.map((x) => x.status))], [503]);
      assert.ok(ms < BOUND, `burst answered in ${ms} ms`);
      t.diagnostic(`30 concurrent requests while down: all 503 in ${ms} ms`);
      assert.ok(errors.length > 0 && errors.every((e) => ['HOTSESSION_ERR_STORE', 'HOTSESSION_ERR_STORE_TIMEOUT'].includes(e.code)), 'coded store errors');

      await ferret.start();
      // The driver rediscovers the server by itself; the store is not recreated.
      const t0 = Date.now();
      await until('read after restart', async () => {
        const r = await request(srv.url, '/get?k=user', jar);
        return { ok: r.status === 200, status: r.status, r };
      });
      t.diagnostic(`serving again ${Date.now() - t0} ms after the restart`);
      assert.deepEqual((await request(srv.url, '/get?k=user', jar)).body, { value: 'ada' }, 'data written before the crash is there');
      const jar2 = new Jar();
      assert.equal((await request(srv.url, '/set?user=bob', jar2)).status, 200);
      assert.deepEqual((await request(srv.url, '/get?k=user', jar2)).body, { value: 'bob' });
    });
  }
});
