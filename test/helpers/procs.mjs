// What every helper that runs a server process of a test's own needs.
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
