import type { Client, Server } from 'memjs';
import type { Socket } from 'node:net';
import { codes, HotsessionError } from '../../errors';

/**
 * Starts op `i` of a burst; the op reports through `done(i, result)` once.
 * `alive()` turns false when the burst settled (timed out): an op that
 * issues several requests (a compare-and-swap retrying) stops there.
 */
export type IssueOp = (i: number, done: (i: number, result: unknown) => void, alive: () => boolean) => void;

// memjs keeps its socket in a private field. Corking it while a burst is
// written turns N request writes into one writev; without the field (another
// memjs version) the burst still works, one write per request.
type WithSocket = Server & { _socket?: Socket };

/**
 * Writes `keys.length` requests back to back on one memjs client (each of its
 * servers gets them pipelined on its one socket) and resolves with one result
 * per request once every reply arrived.
 *
 * Past `timeoutMs` the unanswered requests get a STORE_TIMEOUT error and the
 * sockets that owe replies are reset: memjs alone would keep their stale
 * callbacks and deadlines (a server that died mid-request sends no error, just
 * a FIN), and the first burst after a restart would then be failed by a
 * deadline left over from before it. A reset socket reconnects on its next
 * request.
 */
export function burst(client: Client, keys: readonly string[], timeoutMs: number, issue: IssueOp): Promise<unknown[]> {
  const n = keys.length;
  return new Promise((resolve) => {
    const results = new Array<unknown>(n);
    const answered = new Uint8Array(n);
    let left = n;
    let settled = false;
    const done = (i: number, result: unknown): void => {
      if (settled || answered[i] === 1) return;
      answered[i] = 1;
      results[i] = result;
      if (--left === 0) {
        settled = true;
        clearTimeout(timer);
        resolve(results);
      }
    };
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      const err = new HotsessionError(codes.STORE_TIMEOUT, `memcached did not answer ${left} of ${n} requests within ${timeoutMs} ms`);
      const late = new Set<Server>();
      for (let i = 0; i < n; i++) {
        if (answered[i] === 1) continue;
        results[i] = err;
        const server = client.server(keys[i]!);
        if (server) late.add(server);
      }
      resolve(results);
      for (const server of late) server.error(err);
    }, timeoutMs);

    const alive = (): boolean => !settled;
    const corked = cork(client);
    try {
      for (let i = 0; i < n; i++) issue(i, done, alive);
    } catch (err) {
      for (let i = 0; i < n; i++) done(i, err);
    } finally {
      for (const s of corked) s.uncork();
    }
  });
}

// Sockets already switched to TCP_NODELAY. memjs leaves Nagle on; a burst
// is already one corked write, and Nagle would only hold the next burst back
// until the previous one is acknowledged (ioredis and node-redis turn it off too).
const noDelay = new WeakSet<Socket>();

function cork(client: Client): Socket[] {
  const out: Socket[] = [];
  for (const server of client.servers as readonly WithSocket[]) {
    const s = server._socket;
    if (s !== undefined && server.connected && typeof s.cork === 'function') {
      if (!noDelay.has(s)) {
        s.setNoDelay(true);
        noDelay.add(s);
      }
      s.cork();
      out.push(s);
    }
  }
  return out;
}
