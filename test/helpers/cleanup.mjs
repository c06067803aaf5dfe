// Removing what a test wrote to the shared Redis and Memcached, by the key
// prefix (or id) only that test used: never a FLUSH, never a pattern that could
// match another run's keys (other engineers' runs use the same servers).
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import Redis from 'ioredis';

/** `s` with Redis glob characters escaped, so that it matches only itself. */
function literal(s) {
  return s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/** Deletes every key of the Redis at `url` that matches `pattern` (a Redis glob); resolves to how many. */
async function dropRedisMatching(url, pattern) {
  const client = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true });
  try {
    await client.connect();
    let cursor = '0';
    let n = 0;
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) n += await client.unlink(...keys);
    } while (cursor !== '0');
    return n;
  } finally {
    client.disconnect();
  }
}

/** Deletes every key that starts with `prefix` from the Redis at `url`. */
export function dropRedisPrefix(url, prefix) {
  if (!prefix) throw new Error('a prefix is required');
  return dropRedisMatching(url, `${literal(prefix)}*`);
}

/** Deletes every key that ends with `suffix` (a random session id) from the Redis at `url`. */
export function dropRedisSuffix(url, suffix) {
  if (!suffix || suffix.length < 16) throw new Error('a suffix of 16+ characters (a session id) is required');
  return dropRedisMatching(url, `*${literal(suffix)}`);
}

/** Sends text-protocol lines to one memcached and resolves with the replies once `done(reply)` says so. */
function memcachedTalk(server, lines, done) {
  const [host, port] = server.split(':');
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port: Number(port) });
    let out = '';
    s.setTimeout(5000, () => {
      s.destroy();
      reject(new Error(`memcached ${server} did not answer`));
    });
    s.on('connect', () => s.write(lines.map((l) => `${l}\r\n`).join('')));
    s.on('data', (d) => {
      out += d;
      if (done(out)) {
        s.end();
        resolve(out);
      }
    });
    s.on('error', reject);
  });
}

/**
 * Deletes the keys of every memcached in `servers` ("host:port,...") that
 * `match(key)` accepts; memcached lists its keys with `lru_crawler metadump all`
 * (one `key=<percent-encoded key> ...` line each, then END).
 */
async function dropMemcachedMatching(servers, match) {
  let n = 0;
  for (const server of servers.split(',').map((s) => s.trim()).filter(Boolean)) {
    let dump = '';
    // One crawler at a time per server: another metadump in progress answers BUSY.
    for (let i = 0; i < 20; i++) {
      dump = await memcachedTalk(server, ['lru_crawler metadump all'], (o) => /(^|\n)(END|ERROR[^\r\n]*|BUSY[^\r\n]*)\r\n$/.test(o));
      if (!/(^|\n)BUSY/.test(dump)) break;
      await sleep(100);
    }
    if (!/(^|\n)END\r\n$/.test(dump)) throw new Error(`memcached ${server}: lru_crawler metadump failed: ${dump.slice(-200)}`);
    const keys = [...dump.matchAll(/^key=(\S+)/gm)].map((m) => decodeURIComponent(m[1])).filter(match);
    if (keys.length === 0) continue;
    await memcachedTalk(server, keys.map((k) => `delete ${k}`), (o) => (o.match(/\r\n/g) ?? []).length >= keys.length);
    n += keys.length;
  }
  return n;
}

/** Deletes every key that starts with `prefix` from the memcached servers. */
export function dropMemcachedPrefix(servers, prefix) {
  if (!prefix) throw new Error('a prefix is required');
  return dropMemcachedMatching(servers, (k) => k.startsWith(prefix));
}

/** Deletes every key that ends with `suffix` (a random session id) from the memcached servers. */
export function dropMemcachedSuffix(servers, suffix) {
  if (!suffix || suffix.length < 16) throw new Error('a suffix of 16+ characters (a session id) is required');
  return dropMemcachedMatching(servers, (k) => k.endsWith(suffix));
}

/** The session id inside a signed session cookie value (`s:<id>.<signature>`, percent-encoded or not), or null. */
export function sessionIdOf(cookieValue) {
  let v = cookieValue;
  try {
    v = decodeURIComponent(cookieValue);
  } catch {
    return null;
  }
  const m = /^s:(.+)\.[^.]+$/.exec(v);
  return m ? m[1] : null;
}
