// Users' sessions on memcached (issue #17): the index is one CAS-updated item per user.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSessionManager } from 'hotsession';
import { MemcachedStore } from 'hotsession/memcached';
import { usersCases } from './users-cases.mjs';
import { backend, MEMCACHED_SERVERS } from '../helpers/backends.mjs';
import { dropMemcachedPrefix } from '../helpers/cleanup.mjs';

const skip = await backend('memcached');
const run = randomBytes(6).toString('hex');
let n = 0;
const prefix = () => `sess:test:${run}:${n++}:`;
after(async () => {
  if (!skip) await dropMemcachedPrefix(MEMCACHED_SERVERS, `sess:test:${run}:`);
});

usersCases('users: MemcachedStore over node:http', { skip, makeStore: () => new MemcachedStore({ servers: MEMCACHED_SERVERS, prefix: prefix() }) });

test('concurrent logins of one user all land in its index (CAS, no lost update)', { skip: skip?.reason ?? false }, async () => {
  const store = new MemcachedStore({ servers: MEMCACHED_SERVERS, prefix: prefix(), pool: 4 });
  try {
    const m = createSessionManager('sid', store, { secret: 'x' });
    const sessions = await Promise.all(Array.from({ length: 30 }, async () => {
      const s = await m.load(undefined);
      await s.login('ivy');
      await m.commit(s);
      return s.handle;
    }));
    const listed = (await m.sessionsOf('ivy')).map((d) => d.handle);
    assert.deepEqual(new Set(listed), new Set(sessions));
  } finally {
    await store.close();
  }
});
