// Users' sessions on MemoryStore (issue #17), and a store without an index.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore, createSessionManager } from 'hotsession';
import { usersCases } from './users-cases.mjs';

usersCases('users: MemoryStore over node:http', { makeStore: () => new MemoryStore() });

test('a store without a per-user index refuses login with a coded error', async () => {
  const inner = new MemoryStore();
  // The store contract without `users`.
  const bare = {
    get: (id) => inner.get(id), set: (id, r, t) => inner.set(id, r, t), patch: (id, p, t) => inner.patch(id, p, t),
    forward: (id, m, g) => inner.forward(id, m, g), touch: (id, t) => inner.touch(id, t), destroy: (id) => inner.destroy(id),
    close: () => inner.close(),
  };
  const m = createSessionManager('sid', bare, { secret: 'x' });
  const s = await m.load(undefined);
  await assert.rejects(s.login('ada'), { code: 'HOTSESSION_ERR_USERS_UNSUPPORTED' });
  await assert.rejects(m.sessionsOf('ada'), { code: 'HOTSESSION_ERR_USERS_UNSUPPORTED' });
  assert.equal(s.userId, undefined);
  await inner.close();
});

test('bad user ids are refused; anonymous sessions have no userId or handle', async () => {
  const store = new MemoryStore();
  const m = createSessionManager('sid', store, { secret: 'x' });
  const s = await m.load(undefined);
  assert.equal(s.userId, undefined);
  assert.equal(s.handle, undefined);
  await assert.rejects(s.login(''), { code: 'HOTSESSION_ERR_USERS_UNSUPPORTED' });
  await assert.rejects(s.login(42), { code: 'HOTSESSION_ERR_USERS_UNSUPPORTED' });
  await assert.rejects(m.revokeUser(''), { code: 'HOTSESSION_ERR_USERS_UNSUPPORTED' });
  assert.throws(() => createSessionManager('sid', store, { secret: 'x', users: { maxPerUser: 0 } }), { code: 'HOTSESSION_ERR_OPTIONS' });
  // Meta is copied into the record and every listing: bounded, plain objects only.
  await assert.rejects(s.login('ada', { ua: 'x'.repeat(1100) }), { code: 'HOTSESSION_ERR_ENCODE' });
  await assert.rejects(s.login('ada', ['laptop']), TypeError);
  assert.equal(s.userId, undefined);
  await s.login('ada', { ua: 'x'.repeat(900) });
  assert.equal((await m.sessionsOf('ada'))[0].meta.ua.length, 900);
  await store.close();
});

test('a logged-in session that regenerates stays listed and revocable', async () => {
  const store = new MemoryStore();
  const m = createSessionManager('sid', store, { secret: 'x' });
  const s = await m.load(undefined);
  await s.login('ada');
  await m.commit(s);
  const handle = s.handle;
  const before = s.id;
  await s.regenerate();
  await m.commit(s);
  assert.notEqual(s.id, before);
  assert.equal(s.handle, handle);
  assert.deepEqual((await m.sessionsOf('ada')).map((d) => d.handle), [handle]);
  assert.equal(await m.revokeSession('ada', handle), true);
  assert.equal(store.get(s.id), null);
  await store.close();
});

test('a login whose index write fails leaves no unlisted logged-in session behind', async () => {
  const store = new MemoryStore();
  const real = store.users;
  let fail = true;
  const users = {
    put: (...a) => {
      if (fail) throw Object.assign(new Error('index down'), { code: 'X_INDEX_DOWN' });
      return real.put(...a);
    },
    list: (u) => real.list(u),
    remove: (...a) => real.remove(...a),
  };
  Object.defineProperty(store, 'users', { value: users });
  const m = createSessionManager('sid', store, { secret: 'x' });
  // A stored anonymous session first (login then goes through regenerate).
  const s = await m.load(undefined);
  s.set('cart', 1);
  await m.commit(s);
  await assert.rejects(s.login('kim'), { code: 'X_INDEX_DOWN' });
  assert.equal(s.userId, undefined);
  await m.commit(s);
  assert.equal(store.get(s.id), null, 'nothing is stored under the session after the failed login');
  fail = false;
  const t = await m.load(undefined);
  await t.login('kim');
  assert.equal(t.userId, 'kim');
  assert.equal((await m.sessionsOf('kim')).length, 1);
  await store.close();
});

test('the login binding key is reserved: set() and delete() refuse it, login() still works', async () => {
  const store = new MemoryStore();
  const m = createSessionManager('sid', store, { secret: 'x' });
  const s = await m.load(undefined);
  const forged = { u: 'admin', h: 'forged' };
  assert.throws(() => s.set('__hotsession_user', forged), { code: 'HOTSESSION_ERR_ENCODE' });
  assert.throws(() => s.delete('__hotsession_user'), { code: 'HOTSESSION_ERR_ENCODE' });
  assert.equal(s.userId, undefined);
  await s.login('ada');
  assert.equal(s.userId, 'ada');
  await store.close();
});

test('anonymous requests never touch the index; a logged-in one refreshes lastSeenAt once per seenInterval', async () => {
  const store = new MemoryStore();
  const real = store.users;
  const calls = { put: 0, list: 0, remove: 0 };
  const users = {
    put: (...a) => (calls.put++, real.put(...a)),
    list: (...a) => (calls.list++, real.list(...a)),
    remove: (...a) => (calls.remove++, real.remove(...a)),
  };
  Object.defineProperty(store, 'users', { value: users });
  const m = createSessionManager('sid', store, { secret: 'x', users: { seenInterval: 80 } });
  const cookieOf = (headers) => headers[0].split(';')[0];
  // Anonymous: new, changed, reloaded, destroyed.
  const a = await m.load(undefined);
  a.set('cart', 1);
  const cookie = cookieOf(await m.commit(a));
  const a2 = await m.load(cookie);
  a2.set('cart', 2);
  await m.commit(a2);
  const a3 = await m.load(cookie);
  await a3.destroy();
  await m.commit(a3);
  assert.deepEqual(calls, { put: 0, list: 0, remove: 0 }, 'anonymous sessions cost the index nothing');

  const s = await m.load(undefined);
  await s.login('ada');
  // login() saved the session itself: its Set-Cookie waits in takePending.
  const sc = cookieOf([...m.takePending(s), ...(await m.commit(s))]);
  const puts = calls.put;
  const [first] = await m.sessionsOf('ada');
  // Within the interval: requests (reading or writing) put nothing.
  for (let i = 0; i < 5; i++) {
    const r = await m.load(sc);
    assert.equal(r.userId, 'ada');
    r.set('n', i);
    await m.commit(r);
  }
  assert.equal(calls.put, puts, 'no index write within seenInterval');
  assert.equal((await m.sessionsOf('ada'))[0].lastSeenAt, first.lastSeenAt);
  await new Promise((r) => setTimeout(r, 100));
  const before = Date.now();
  const r = await m.load(sc);
  await m.commit(r);
  assert.equal(calls.put, puts + 1, 'one index write once the interval has passed');
  const [after] = await m.sessionsOf('ada');
  assert.ok(after.lastSeenAt >= before, `lastSeenAt ${after.lastSeenAt} moved to the request (${before})`);
  assert.equal(after.createdAt, first.createdAt);
  // And the next one within the new interval writes nothing again.
  await m.commit(await m.load(sc));
  assert.equal(calls.put, puts + 1);
  await store.close();
});

test('a lifetime that grows after login ("remember me") keeps the session listed and revocable', async () => {
  const store = new MemoryStore();
  // Sessions live 100 ms unless their cookie says more; entries refresh at most once a second.
  const m = createSessionManager('sid', store, { secret: 'x', ttl: 100, users: { seenInterval: 1000 } });
  const s = await m.load(undefined);
  await s.login('ada');
  const cookie = [...m.takePending(s), ...(await m.commit(s))][0].split(';')[0];
  // The next request, well within seenInterval, makes the session last 5 s.
  const r = await m.load(cookie);
  r.options({ maxAge: 5000 });
  await m.commit(r);
  // Past the lifetime the entry was first written for, and past the interval.
  await new Promise((res) => setTimeout(res, 1300));
  assert.equal((await m.load(cookie)).userId, 'ada', 'the session is alive');
  assert.equal((await m.sessionsOf('ada')).length, 1, 'and listed');
  assert.equal(await m.revokeUser('ada'), 1);
  assert.equal((await m.load(cookie)).userId, undefined);
  await store.close();
});
