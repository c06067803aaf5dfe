// What every bench server shares: the configuration the harness passes in
// the environment, the ready/skip handshake on stdout, and the three routes'
// semantics, so every stack does exactly the same work per request.
//
//   GET /login  new session: user = "u<k>", n = 0           -> 200 "ok" + Set-Cookie
//   GET /read   session read only                           -> 200 user, 401 without a session
//   GET /write  session read, n incremented and saved       -> 200 n,    401 without a session
//
// A 401 shows up in the load generator as a non-2xx response, so a stack
// that silently loses sessions cannot post a good number.

/** Cookie signing secret, the same for every stack. */
export const SECRET = process.env.HS_SECRET ?? 'hotsession bench secret: long enough to be a real one';
/** Cookie maxAge and store TTL in ms; short, so whatever the cleanup misses (memcached) expires soon. */
export const MAX_AGE = Number(process.env.HS_MAX_AGE_MS ?? 15 * 60_000);
/** Key prefix / database suffix unique to this run, so runs never see each other's records. */
export const RUN_ID = process.env.HS_RUN_ID ?? `local${process.pid}`;
export const PREFIX = `hsbench:${RUN_ID}:`;
export const MONGO_DB = `hsbench_${RUN_ID}`.replace(/[^A-Za-z0-9_]/g, '_');
export const STORE = process.env.HS_STORE ?? 'memory';
export const PORT = Number(process.env.PORT ?? 0);
export const HOST = '127.0.0.1';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const MEMCACHED_SERVERS = process.env.MEMCACHED_SERVERS ?? '127.0.0.1:11211';
export const MONGODB_URL = process.env.MONGODB_URL ?? 'mongodb://127.0.0.1:27017';

let users = 0;
/** The user name a new session gets. */
export function nextUser() {
  return `u${++users}`;
}

/** Tells the harness the server listens on `port` (one JSON line on stdout). */
export function ready(port) {
  process.stdout.write(JSON.stringify({ port }) + '\n');
}

/** Tells the harness this scenario cannot run here, and why; then exits. */
export function skip(reason) {
  process.stdout.write(JSON.stringify({ skip: String(reason) }) + '\n');
  process.exit(0);
}

/**
 * Imports a module or skips the scenario with a reason naming it: the
 * harness must run today, with parts of the project still being built.
 */
export async function need(specifier) {
  try {
    return await import(specifier);
  } catch (err) {
    skip(`${specifier} not available (${err.code ?? err.message})`);
  }
}

/** The default export of a CommonJS module or the module itself. */
export function cjs(mod) {
  return mod?.default ?? mod;
}

/** Runs `close` (store/client shutdown) on SIGTERM/SIGINT, then exits even if it hangs. */
export function onStop(close) {
  const stop = () => {
    setTimeout(() => process.exit(0), 1000).unref();
    Promise.resolve().then(close).catch(() => {}).finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

/** Fails the server start with the error on stderr; the harness prints it. */
export function fatal(err) {
  process.stderr.write(`${err?.stack ?? err}\n`);
  process.exit(1);
}
