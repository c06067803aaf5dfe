// What every helper that runs a server process of a test's own needs.
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** A loopback port nobody listens on right now. */
export async function freePort() {
  const srv = net.createServer();
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address();
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

/** Polls `check` every 50 ms until it resolves truthy; throws after `ms` with the last error. */
export async function waitFor(what, check, ms = 10_000) {
  const until = Date.now() + ms;
  let last;
  while (Date.now() < until) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    await sleep(50);
  }
  throw new Error(`${what} not ready after ${ms} ms${last ? `: ${last.message}` : ''}`);
}

/** True when every thread of `pid` is in the stopped state ('T' in /proc/<pid>/task/<tid>/stat). */
export function allThreadsStopped(pid) {
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'T') return false;
  }
  return true;
}

/**
 * Freezes process `pid` (SIGSTOP: its sockets stay open, nothing answers) and
 * resolves once every thread stopped: kill() returns before a thread running
 * on the other core has stopped, and it could still answer.
 */
export async function pauseProcess(pid) {
  process.kill(pid, 'SIGSTOP');
  await waitFor(`process ${pid} stopped`, () => allThreadsStopped(pid), 5_000);
}

/** Lets a paused process run again. */
export function resumeProcess(pid) {
  process.kill(pid, 'SIGCONT');
}
