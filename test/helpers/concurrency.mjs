// The concurrency suite: what overlapping requests on one session must keep
// (issue #13), through a real adapter over real sockets. Parameterised like
// conformance.mjs: a store factory and a harness (startHttp, startUws), so
// every store can wire itself in.
//
// Requests are made to overlap for sure: each one loads its session, then
// waits at a gate (in this process, next to the server) until the test opens
// it, and only then changes its key and returns (the adapter commits). So all
// of them hold the session as it was before any of them wrote: the case
// where whole-record saves lose all but one write.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { Jar, request } from './jar.mjs';
import { startHttp } from './http-harness.mjs';
import { routes } from './routes.mjs';

const require = createRequire(import.meta.url);
const sig = require('cookie-signature');

const SECRET = 'concurrency secret';
/** Longest a request waits at a gate: a hung test fails instead of hanging. */
const GATE_LIMIT_MS = 20_000;

const gates = new Map();

/** A gate requests wait at; `openAt`: opens itself once that many arrived. */
function gate(name, openAt = Infinity) {
  let g = gates.get(name);
  if (g === undefined) {
    let open;
    const opened = new Promise((resolve) => { open = resolve; });
    g = { arrived: 0, openAt, opened, open };
    gates.set(name, g);
  }
  return g;
}

async function arrive(name) {
  const g = gate(name);
  g.arrived++;
  if (g.arrived >= g.openAt) g.open();
  await Promise.race([g.opened, sleep(GATE_LIMIT_MS)]);
}

async function until(cond, what, ms = GATE_LIMIT_MS) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

// The suite's routes join the shared table (both harnesses mount it).
Object.assign(routes, {
  '/c/hold': async (s, q) => {
    await arrive(q.get('gate'));
    if (q.has('k')) s().set(q.get('k'), q.get('v'));
    return { ok: true };
  },
  '/c/login': async (s, q) => {
    await arrive(q.get('gate'));
    const before = s().id;
    await s().regenerate();
    s().set('user', q.get('user'));
    return { before, after: s().id };
  },
});

let unique = 0;
const tag = (what) => `${what}-${process.pid}-${++unique}`;

/** True for what a store may still hold under a regenerated id: nothing, or a FORWARD marker. */
function deadOrForward(rec) {
  return rec === null || (rec instanceof Uint8Array && rec[0] === 0x68 && rec[1] === 2 && rec[2] === 1);
}

/**
 * @param {string} label
 * @param {object} o
 * @param {() => Promise<object>|object} o.makeStore   a fresh store (own namespace)
 * @param {(store) => Promise<void>} [o.closeStore]
 * @param {Function} [o.harness]   startHttp-compatible server factory
 * @param {object} [o.legacy]      { makeStore(), plant(store, id, data, ttlMs) }: a store reading another
 *                                 library's records, and how to write one (skipped without it)
 * @param {object} [o.skip]        { reason } skips the whole suite with a one-line reason
 */
export function concurrency(label, o) {
  const harness = o.harness ?? startHttp;
  describe(`concurrency: ${label}`, { skip: o.skip?.reason ?? false }, () => {
    const stores = [];
    const servers = [];
    let store;
    let srv;
    const open = async (s) => {
      stores.push(s);
      const server = await harness([{ name: 'sid', store: s }], { secret: SECRET });
      servers.push(server);
      return server;
    };
    before(async () => {
      store = await o.makeStore();
      srv = await open(store);
    });
    after(async () => {
      for (const s of servers) await s.close();
      for (const s of stores) await (o.closeStore ? o.closeStore(s) : s.close());
    });

    /** A stored session: its jar, id and cookie header. */
    const session = async (init = 'yes') => {
      const jar = new Jar();
      await request(srv.url, `/set?init=${init}`, jar);
      const { id } = (await request(srv.url, '/id', jar)).body;
      return { jar, id, cookie: jar.header() };
    };
    const hold = (g, cookie, k, v) => request(srv.url, `/c/hold?gate=${g}&k=${k}&v=${v}`, null, { headers: { cookie } });

    for (const n of [20, 200]) {
      test(`${n} concurrent requests, each setting its own key, keep all ${n} keys`, async () => {
        const { jar, cookie } = await session();
        const g = tag('keys');
        gate(g, n); // opens when all n have loaded the session
        const answers = await Promise.all(Array.from({ length: n }, (_, i) => hold(g, cookie, `k${i}`, String(i))));
        assert.deepEqual(answers.map((a) => a.status), Array(n).fill(200));
        const { data } = (await request(srv.url, '/all', jar)).body;
        const expected = { init: 'yes' };
        for (let i = 0; i < n; i++) expected[`k${i}`] = String(i);
        assert.equal(Object.keys(data).length, n + 1, `kept ${Object.keys(data).length - 1} of ${n} keys`);
        assert.deepEqual(data, expected);
      });
    }

    test('a logout racing 20 in-flight writes leaves the session destroyed', async () => {
      const { id, cookie } = await session('ada');
      const g = tag('logout');
      const writes = Array.from({ length: 20 }, (_, i) => hold(g, cookie, `late${i}`, 'x'));
      await until(() => gate(g).arrived === 20, 'the writes to load the session');
      const logout = await request(srv.url, '/destroy', null, { headers: { cookie } });
      assert.equal(logout.status, 200);
      assert.ok(logout.setCookie.some((c) => c.maxAge === 0), 'the cookie is cleared');
      gate(g).open();
      const answers = await Promise.all(writes);
      assert.deepEqual(answers.map((a) => a.status), Array(20).fill(200));
      const replay = await request(srv.url, '/all', null, { headers: { cookie } });
      assert.equal(replay.body.isNew, true);
      assert.deepEqual(replay.body.data, {}, 'the old cookie opens nothing: no write brought the session back');
      assert.notEqual(replay.body.id, id);
      assert.equal(await store.get(id), null, 'the destroyed id has no record');
    });

    test('a login (regenerate) racing in-flight writes keeps their writes in the new session and leaves one live session', async () => {
      const { id, cookie } = await session();
      const early = tag('early');
      const late = tag('late');
      const login = tag('login');
      // All of them load the session before the login runs.
      const before = Array.from({ length: 10 }, (_, i) => hold(early, cookie, `early${i}`, 'e'));
      const afterLogin = Array.from({ length: 10 }, (_, i) => hold(late, cookie, `late${i}`, 'l'));
      const loggingIn = request(srv.url, `/c/login?gate=${login}&user=ada`, null, { headers: { cookie } });
      await until(() => gate(early).arrived === 10 && gate(late).arrived === 10 && gate(login).arrived === 1, 'every request to load');
      // Ten writes land on the old id after the login loaded it and before it regenerates...
      gate(early).open();
      assert.deepEqual((await Promise.all(before)).map((a) => a.status), Array(10).fill(200));
      gate(login).open();
      const done = await loggingIn;
      assert.equal(done.status, 200);
      assert.equal(done.body.before, id);
      const newId = done.body.after;
      assert.notEqual(newId, id);
      const jar = new Jar();
      jar.update(done.raw);
      // ...and ten land after it, still carrying the old cookie.
      gate(late).open();
      assert.deepEqual((await Promise.all(afterLogin)).map((a) => a.status), Array(10).fill(200));
      const now = (await request(srv.url, '/all', jar)).body;
      assert.equal(now.id, newId);
      const expected = { init: 'yes', user: 'ada' };
      for (let i = 0; i < 10; i++) {
        expected[`early${i}`] = 'e';
        expected[`late${i}`] = 'l';
      }
      assert.deepEqual(Object.keys(now.data).sort(), Object.keys(expected).sort(), 'no write was lost');
      assert.deepEqual(now.data, expected);
      const replay = await request(srv.url, '/all', null, { headers: { cookie } });
      assert.equal(replay.body.isNew, true, 'the old id is no credential for the new session');
      assert.deepEqual(replay.body.data, {});
      assert.notEqual(replay.body.id, newId);
      assert.ok(deadOrForward(await store.get(id)), 'one live session: the old id holds no session');
    });

    test('a v1 record is read, then rewritten as v2 at the next save', async () => {
      const { codec } = require('../../dist/codec/index.js');
      const { encodeData } = require('../../dist/codec/msgpack.js');
      const id = `v1${Date.now().toString(36)}${'x'.repeat(32)}`.slice(0, 32);
      await store.set(id, codec.frame(encodeData({ user: 'old', n: 1 }), 0, Date.now()), 60_000);
      const cookie = `sid=${encodeURIComponent('s:' + sig.sign(id, SECRET))}`;
      const r = await request(srv.url, '/all', null, { headers: { cookie } });
      assert.deepEqual(r.body, { id, isNew: false, data: { user: 'old', n: 1 } });
      await request(srv.url, '/set?seen=1', null, { headers: { cookie } });
      const rec = await store.get(id);
      assert.ok(rec instanceof Uint8Array && rec[1] === 2 && rec[2] === 0, 'a v2 RECORD now');
      const again = await request(srv.url, '/all', null, { headers: { cookie } });
      assert.deepEqual(again.body.data, { user: 'old', n: 1, seen: '1' });
    });

    test("another library's record (a DecodedRecord) is read, then rewritten as v2 at the next save", { skip: o.legacy ? false : 'no legacy reader wired for this store' }, async () => {
      const legacyStore = await o.legacy.makeStore();
      const server = await open(legacyStore);
      const id = `lg${Date.now().toString(36)}${'y'.repeat(32)}`.slice(0, 32);
      await o.legacy.plant(legacyStore, id, { user: 'legacy', cart: [1, 2] }, 60_000);
      const cookie = `sid=${encodeURIComponent('s:' + sig.sign(id, SECRET))}`;
      const r = await request(server.url, '/all', null, { headers: { cookie } });
      assert.deepEqual(r.body.data, { user: 'legacy', cart: [1, 2] });
      await request(server.url, '/set?seen=1', null, { headers: { cookie } });
      const rec = await legacyStore.get(id);
      assert.ok(rec instanceof Uint8Array && rec[1] === 2 && rec[2] === 0, 'a v2 RECORD now');
      const again = await request(server.url, '/all', null, { headers: { cookie } });
      assert.deepEqual(again.body.data, { user: 'legacy', cart: [1, 2], seen: '1' });
    });
  });
}
