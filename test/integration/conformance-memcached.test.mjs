import { after } from 'node:test';
import { randomBytes } from 'node:crypto';
import { MemcachedStore } from 'hotsession/memcached';
import { conformance } from '../helpers/conformance.mjs';
import { backend, MEMCACHED_SERVERS } from '../helpers/backends.mjs';
import { dropMemcachedPrefix } from '../helpers/cleanup.mjs';

const skip = await backend('memcached');
// A prefix of its own per run and per store, so concurrent runs never collide.
const run = randomBytes(6).toString('hex');
let n = 0;
const prefix = () => `sess:test:${run}:${n++}:`;
after(async () => {
  if (!skip) await dropMemcachedPrefix(MEMCACHED_SERVERS, `sess:test:${run}:`);
});

// memcached expires in whole seconds, so the expiry tests wait 2 s.
conformance('MemcachedStore over node:http', {
  skip,
  expiryMs: 2000,
  makeStore: () => new MemcachedStore({ servers: MEMCACHED_SERVERS, prefix: prefix() }),
});

conformance('MemcachedStore (batch: false, pool: 1) over node:http', {
  skip,
  expiryMs: 2000,
  makeStore: () => new MemcachedStore({ servers: MEMCACHED_SERVERS, prefix: prefix(), batch: false, pool: 1 }),
});
