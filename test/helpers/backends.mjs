// Which real backends the integration tests talk to, and whether they answer.
// With HOTSESSION_REQUIRE_BACKENDS=1 (CI) a missing backend fails the suite;
// otherwise its suites are skipped with a one-line reason.
import net from 'node:net';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const MEMCACHED_SERVERS = process.env.MEMCACHED_SERVERS ?? '127.0.0.1:11211';
export const MONGODB_URL = process.env.MONGODB_URL ?? 'mongodb://127.0.0.1:27017';
export const REQUIRED = process.env.HOTSESSION_REQUIRE_BACKENDS === '1';

export function reachable(host, port, timeout = 500) {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (ok) => { s.destroy(); resolve(ok); };
    s.setTimeout(timeout, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

function hostPort(url, defPort) {
  const u = new URL(url.includes('://') ? url : `x://${url}`);
  return [u.hostname, Number(u.port || defPort)];
}

/**
 * Resolves to `{ reason }` (pass as a suite's `skip`) when the backend is
 * down and not required, to `undefined` when it is up; throws when it is
 * down and required.
 */
export async function backend(name) {
  const [host, port] = name === 'redis' ? hostPort(REDIS_URL, 6379)
    : name === 'memcached' ? hostPort(MEMCACHED_SERVERS.split(',')[0], 11211)
    : hostPort(MONGODB_URL, 27017);
  if (await reachable(host, port)) return undefined;
  const reason = `${name} not reachable at ${host}:${port} (run scripts/services.sh)`;
  if (REQUIRED) throw new Error(`${reason}; HOTSESSION_REQUIRE_BACKENDS=1 requires it`);
  return { reason };
}
