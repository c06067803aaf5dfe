// The session lifecycle as a state machine: the transition table itself
// (src/core/lifecycle.ts), then every transition driven through the public
// Session API on a real MemoryStore, with illegal moves refused or no-ops as
// documented.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { createSessionManager, MemoryStore } from 'hotsession';

const require = createRequire(import.meta.url);
const L = require('../../dist/core/lifecycle.js');
const { stateOf } = require('../../dist/core/session.js');
const sig = require('cookie-signature');

const secret = 'lifecycle secret';
const phase = (s) => L.PHASE_NAMES[stateOf(s).phase];
const cookieOf = (headers) => headers[0].slice(0, headers[0].indexOf(';'));

describe('the transition table', () => {
  // The spec, written out: rows are phases, columns events; '=' stays, 'X' refused.
  const spec = {
    //            CHANGE          COMMIT        FAIL        DESTROY      REGENERATE      MOVED          MOVE_FAILED  ORPHANED
    FRESH: ['MODIFIED', 'COMMITTED', '=', 'DESTROYED', '=', 'X', 'X', 'X'],
    LOADED: ['MODIFIED', 'COMMITTED', '=', 'DESTROYED', 'REGENERATING', 'X', 'X', 'X'],
    MODIFIED: ['MODIFIED', 'COMMITTED', 'MODIFIED', 'DESTROYED', 'REGENERATING', 'X', 'X', 'X'],
    COMMITTED: ['MODIFIED', '=', 'MODIFIED', 'DESTROYED', 'REGENERATING', 'X', 'X', 'X'],
    DESTROYED: ['MODIFIED', 'COMMITTED', '=', '=', '=', 'X', 'X', 'X'],
    REGENERATING: ['=', 'X', '=', 'X', 'X', 'REGENERATED', 'MODIFIED', 'DESTROYED'],
    REGENERATED: ['MODIFIED', 'COMMITTED', '=', 'DESTROYED', 'REGENERATING', 'X', 'X', 'X'],
  };
  for (const [from, row] of Object.entries(spec)) {
    test(`from ${from}`, () => {
      const p = L.PHASE_NAMES.indexOf(from);
      assert.equal(row.length, L.EVENT_NAMES.length);
      row.forEach((want, e) => {
        const got = L.step(p, e);
        const expected = want === 'X' ? L.REFUSED : want === '=' ? p : L.PHASE_NAMES.indexOf(want);
        assert.equal(got, expected, `${from} + ${L.EVENT_NAMES[e]}: ${got === L.REFUSED ? 'refused' : L.PHASE_NAMES[got]}`);
      });
    });
  }
});

/** A stored session loaded from its cookie, with the store and manager. */
function stored(extra = {}, store = new MemoryStore()) {
  const m = createSessionManager('sid', store, { secret, ...extra });
  const s = m.load();
  s.set('a', 1).set('b', 2);
  const cookie = cookieOf(m.commit(s));
  return { m, store, cookie, s: m.load(cookie), id: s.id };
}

/** `stored` on a store that answers asynchronously. */
async function storedAsync(store) {
  const m = createSessionManager('sid', store, { secret });
  const s = m.load();
  s.set('a', 1).set('b', 2);
  const cookie = cookieOf(await m.commit(s));
  return { m, store, cookie, s: await m.load(cookie), id: s.id };
}

/** A MemoryStore whose writes answer asynchronously and can be made to fail. */
function flaky() {
  const mem = new MemoryStore();
  const ops = [];
  let failing = false;
  const run = (name, fn) => {
    ops.push(name);
    return new Promise((resolve, reject) => setImmediate(() => (failing ? reject(new Error(`${name} down`)) : resolve(fn()))));
  };
  return {
    mem, ops,
    fail(on) { failing = on; },
    get: (id) => mem.get(id),
    set: (id, r, t) => run('set', () => mem.set(id, r, t)),
    patch: (id, p, t) => run('patch', () => mem.patch(id, p, t)),
    forward: (id, m, g) => run('forward', () => mem.forward(id, m, g)),
    touch: (id, t) => run('touch', () => mem.touch(id, t)),
    destroy: (id) => run('destroy', () => mem.destroy(id)),
    close: async () => mem.close(),
  };
}

describe('every transition through the Session API', () => {
  test('FRESH: a read and a commit write nothing; the commit is COMMITTED', () => {
    const store = new MemoryStore();
    const m = createSessionManager('sid', store, { secret });
    const s = m.load();
    assert.equal(phase(s), 'FRESH');
    assert.equal(s.get('x'), undefined);
    assert.equal(phase(s), 'FRESH', 'a read changes nothing');
    assert.deepEqual(m.commit(s), []);
    assert.equal(phase(s), 'COMMITTED');
    assert.equal(store.size, 0);
  });

  test('LOADED -> MODIFIED -> COMMITTED; a second commit is a no-op; a change after it is MODIFIED again', () => {
    const { m, store, s } = stored();
    let patches = 0;
    const patch = store.patch.bind(store);
    store.patch = (...a) => { patches++; return patch(...a); };
    assert.equal(phase(s), 'LOADED');
    assert.equal(s.isNew, false);
    s.set('c', 3);
    assert.equal(phase(s), 'MODIFIED');
    assert.equal(s.isModified, true);
    m.commit(s);
    assert.equal(phase(s), 'COMMITTED');
    assert.equal(s.isModified, false);
    assert.deepEqual(m.commit(s), []);
    assert.equal(patches, 1, 'nothing changed: no second write');
    s.set('d', 4);
    assert.equal(phase(s), 'MODIFIED');
    m.commit(s);
    assert.equal(patches, 2);
    assert.deepEqual(s.keys(), ['a', 'b', 'c', 'd']);
  });

  test('delete of an absent key and flashes() without flashes change nothing', () => {
    const { s } = stored();
    s.delete('nope');
    assert.deepEqual(s.flashes('none'), []);
    assert.equal(phase(s), 'LOADED');
  });

  test('options() is a change', () => {
    const { s } = stored();
    s.options({ maxAge: 1000 });
    assert.equal(phase(s), 'MODIFIED');
  });

  test('destroy(): DESTROYED under a new id; its commit clears the cookie; later commits do nothing', async () => {
    const { m, store, s, id } = stored();
    await s.destroy();
    assert.equal(phase(s), 'DESTROYED');
    assert.notEqual(s.id, id);
    assert.equal(s.isNew, true);
    assert.deepEqual(s.keys(), []);
    assert.equal(store.get(id), null);
    const h = m.commit(s);
    assert.match(h[0], /^sid=; Max-Age=0; Path=\/;/);
    assert.equal(phase(s), 'COMMITTED');
    assert.deepEqual(m.commit(s), []);
  });

  test('destroy() twice: the second is a no-op on the store (nothing stored under the new id)', async () => {
    const { store, s } = stored();
    let destroys = 0;
    const destroy = store.destroy.bind(store);
    store.destroy = (...a) => { destroys++; return destroy(...a); };
    await s.destroy();
    await s.destroy();
    assert.equal(destroys, 1);
    assert.equal(phase(s), 'DESTROYED');
  });

  test('DESTROYED then set: a new session (MODIFIED), written whole under a fresh id', async () => {
    const { m, store, s, id } = stored();
    await s.destroy();
    s.set('z', 9);
    assert.equal(phase(s), 'MODIFIED');
    let sets = 0;
    const set = store.set.bind(store);
    store.set = (...a) => { sets++; return set(...a); };
    const h = m.commit(s);
    assert.equal(sets, 1);
    assert.match(h[0], /^sid=s%3A/);
    const again = m.load(cookieOf(h));
    assert.deepEqual(again.keys(), ['z']);
    assert.notEqual(again.id, id);
  });

  test('regenerate() of a stored session: REGENERATED, stored under the new id; the commit only sends the cookie', async () => {
    const { m, store, s, id } = stored();
    await s.regenerate();
    assert.equal(phase(s), 'REGENERATED');
    assert.equal(s.isNew, false);
    assert.equal(s.isModified, true, 'the new cookie is still to send');
    let writes = 0;
    for (const k of ['set', 'patch', 'touch']) {
      const f = store[k].bind(store);
      store[k] = (...a) => { writes++; return f(...a); };
    }
    const h = m.commit(s);
    assert.equal(writes, 0, 'already written by regenerate()');
    assert.equal(h.length, 1);
    assert.equal(phase(s), 'COMMITTED');
    assert.deepEqual(m.load(cookieOf(h)).keys(), ['a', 'b']);
    assert.equal(store.get(id)[2], 1, 'the old id forwards');
  });

  test('regenerate() of a session never stored only renames it', async () => {
    const store = new MemoryStore();
    const m = createSessionManager('sid', store, { secret });
    const s = m.load();
    const before = s.id;
    await s.regenerate();
    assert.notEqual(s.id, before);
    assert.equal(phase(s), 'FRESH');
    assert.equal(store.size, 0);
    s.set('a', 1);
    await s.regenerate();
    assert.equal(phase(s), 'MODIFIED');
    assert.equal(store.size, 0);
  });

  test('REGENERATING (not awaited): commit, destroy and regenerate are refused with SESSION_BUSY; set waits as a change', async () => {
    const f = flaky();
    const { m, s } = await storedAsync(f);
    const done = s.regenerate();
    assert.equal(phase(s), 'REGENERATING');
    assert.throws(() => m.prepare(s), { code: 'HOTSESSION_ERR_SESSION_BUSY' });
    await assert.rejects(Promise.resolve(m.commit(s)), { code: 'HOTSESSION_ERR_SESSION_BUSY' });
    await assert.rejects(s.destroy(), { code: 'HOTSESSION_ERR_SESSION_BUSY' });
    await assert.rejects(s.regenerate(), { code: 'HOTSESSION_ERR_SESSION_BUSY' });
    s.set('during', true);
    assert.equal(phase(s), 'REGENERATING');
    await done;
    assert.equal(phase(s), 'MODIFIED', 'the change made meanwhile is pending');
    const h = await m.commit(s);
    assert.equal(h.length, 1, 'the new id still gets its cookie');
    assert.deepEqual(m.load(cookieOf(h)).keys(), ['a', 'b', 'during']);
  });

  test('a failed write: MODIFIED again with its changes pending; the next commit sends them', async () => {
    const f = flaky();
    const { m, s } = await storedAsync(f);
    s.set('c', 3).delete('a');
    f.fail(true);
    await assert.rejects(Promise.resolve(m.commit(s)), /patch down/);
    assert.equal(phase(s), 'MODIFIED');
    assert.deepEqual(s.changes(), { changed: ['c'], deleted: ['a'], cleared: false });
    f.fail(false);
    await m.commit(s);
    assert.equal(phase(s), 'COMMITTED');
    const reread = m.load(`sid=${encodeURIComponent('s:' + sig.sign(s.id, secret))}`);
    assert.deepEqual(reread.keys(), ['b', 'c']);
  });

  test('a failed first write of a new session leaves it new: the retry writes it whole', async () => {
    const f = flaky();
    const m = createSessionManager('sid', f, { secret });
    const s = m.load();
    s.set('a', 1);
    f.fail(true);
    await assert.rejects(Promise.resolve(m.commit(s)), /set down/);
    assert.equal(s.isNew, true);
    f.fail(false);
    f.ops.length = 0;
    await m.commit(s);
    assert.deepEqual(f.ops, ['set']);
    assert.equal(s.isNew, false);
  });

  test('a write that fails after the session was destroyed puts nothing back (FAIL is a no-op there)', async () => {
    const f = flaky();
    const { m, s } = await storedAsync(f);
    s.set('c', 3);
    f.fail(true);
    const write = Promise.resolve(m.commit(s)).then(() => null, (err) => err);
    await s.destroy().catch(() => {});
    assert.match(String(await write), /patch down/);
    assert.equal(phase(s), 'DESTROYED');
    assert.deepEqual(s.keys(), []);
    assert.deepEqual(s.changes().changed, []);
  });

  test('regenerate() whose new record cannot be written: MODIFIED, unsaved under the new id; the old id is untouched', async () => {
    const f = flaky();
    const { m, s, id } = await storedAsync(f);
    f.fail(true);
    await assert.rejects(s.regenerate(), /set down/);
    assert.equal(phase(s), 'MODIFIED');
    assert.equal(s.isNew, true);
    assert.notEqual(s.id, id);
    assert.equal(f.mem.get(id)[2], 0, 'the old record is still a RECORD');
    f.fail(false);
    f.ops.length = 0;
    const h = await m.commit(s);
    assert.deepEqual(f.ops, ['set']);
    assert.deepEqual(m.load(cookieOf(h)).keys(), ['a', 'b']);
  });

  test('regenerate() racing a logout: the old record is gone, so the session starts over empty (DESTROYED)', async () => {
    const f = flaky();
    const { m, s, id } = await storedAsync(f);
    const other = m.load(`sid=${encodeURIComponent('s:' + sig.sign(id, secret))}`);
    const login = s.regenerate();
    // The logout lands between the new record's write and the forward.
    await other.destroy();
    await login;
    assert.equal(phase(s), 'DESTROYED');
    assert.deepEqual(s.keys(), []);
    assert.equal(f.mem.size, 0, 'neither id holds a session');
    const h = await m.commit(s);
    assert.match(h[0], /Max-Age=0/);
  });
});
