// FerretDB processes of a test's own (the one on 27017 belongs to
// scripts/services.sh): a MongoDB-wire server on a free loopback port with
// its SQLite files in a temp dir, to kill and start again in fault tests.
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MongoClient } from 'mongodb';
import { REQUIRED } from './backends.mjs';
import { freePort } from './procs.mjs';

/** The binary scripts/services.sh builds (override with FERRETDB_BIN, as that script does). */
export const FERRET_BIN = process.env.FERRETDB_BIN ?? path.join(os.homedir(), '.cache', 'hotsession', 'ferretdb-v1.24.2');

/**
 * `{ reason }` (pass as a suite's skip) when the FerretDB binary is missing
 * and not required; throws when HOTSESSION_REQUIRE_BACKENDS=1.
 */
export function ferretBinary() {
  try {
    accessSync(FERRET_BIN, constants.X_OK);
    return undefined;
  } catch {
    const reason = `FerretDB binary not found at ${FERRET_BIN} (run scripts/services.sh, which builds it)`;
    if (REQUIRED) throw new Error(`${reason}; HOTSESSION_REQUIRE_BACKENDS=1 requires it`);
    return { reason };
  }
}

export { freePort } from './procs.mjs';

/**
 * SQLite settings (a `sqliteQuery` for startFerret) for tests that SIGKILL
 * their FerretDB under load, measured on this 2-core box under other jobs' load:
 * - synchronous=NORMAL. FerretDB's default (SQLite's FULL) fsyncs the WAL at
 *   every commit, and a session write under 'lock' atomicity is three
 *   commits: single updates ran at ~100-150/s and session writes timed out
 *   before any fault. NORMAL fsyncs at checkpoints only; in WAL mode a commit
 *   still survives the process's crash (SIGKILL, the fault these tests
 *   inject) and is lost only with the OS or the power, so "no acknowledged
 *   write lost" keeps its meaning.
 * - wal_autocheckpoint=0. After the SIGKILL restart, with the default
 *   checkpoints every 1000 WAL pages, updates ran 20-30 times slower than
 *   before the kill for 5 s and more (in some runs commands of 32 updates
 *   hung past the driver's 10 s socket timeout); without them two runs
 *   were back to pre-fault latency about a second after the restart (later
 *   runs at 30 writes/s per app still saw slow updates: see the rate in
 *   faults-memcached-mongo.test.mjs). The WAL then only grows, by a few MB
 *   over a test.
 */
export const KILL_TEST_SQLITE = '_pragma=synchronous(normal)&_pragma=wal_autocheckpoint(0)';

async function ping(url) {
  const c = new MongoClient(url, { serverSelectionTimeoutMS: 300, connectTimeoutMS: 300 });
  try {
    return (await c.db('admin').command({ ping: 1 })).ok === 1;
  } finally {
    await c.close();
  }
}

/**
 * Starts FerretDB (SQLite backend) on `port`, a free one when omitted.
 * `sqliteQuery`: query string of its --sqlite-url (SQLite pragmas as
 * `_pragma=name(value)`, FerretDB's own defaults when empty).
 * Returns { port, url, dir, stop(), start(), restart(), destroy() }; data
 * survives stop/start (same dir), like a real server's restart.
 */
export async function startFerret({ port, sqliteQuery = '' } = {}) {
  port ??= await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hotsession-ferret-'));
  const url = `mongodb://127.0.0.1:${port}`;
  let child = null;
  let log = '';
  const launch = async () => {
    log = '';
    child = spawn(FERRET_BIN, [
      '--handler=sqlite', `--sqlite-url=file:${dir}/${sqliteQuery ? `?${sqliteQuery}` : ''}`, `--state-dir=${dir}`,
      `--listen-addr=127.0.0.1:${port}`, '--telemetry=disable', '--log-level=warn',
      // The debug HTTP listener defaults to 127.0.0.1:8088, which the shared server already holds.
      '--debug-addr=-',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr.on('data', (d) => { log = (log + d).slice(-4000); });
    child.exited = new Promise((resolve) => child.once('exit', resolve));
    const until = Date.now() + 15_000;
    let last;
    while (Date.now() < until) {
      if (child.exitCode !== null) throw new Error(`ferretdb exited with ${child.exitCode}: ${log}`);
      try {
        if (await ping(url)) return;
      } catch (err) {
        last = err;
      }
      await sleep(50);
    }
    throw new Error(`ferretdb on :${port} not ready after 15 s: ${last?.message ?? ''} ${log}`);
  };
  await launch();
  const handle = {
    port,
    url,
    dir,
    /** The running server's pid (undefined while stopped). */
    get pid() {
      return child !== null && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
    },
    /** Kills the server (SIGKILL: no graceful shutdown, like a crash). */
    async stop() {
      if (child === null || child.exitCode !== null || child.signalCode !== null) return;
      const c = child;
      c.kill('SIGKILL');
      await c.exited;
    },
    /** Starts it again on the same port with the same data. */
    async start() {
      if (child !== null && child.exitCode === null && child.signalCode === null) return;
      await launch();
    },
    async restart() {
      await handle.stop();
      await launch();
    },
    async destroy() {
      await handle.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return handle;
}
