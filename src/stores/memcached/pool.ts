import type { Client } from 'memjs';
import { debuglog } from 'node:util';
import { codes, HotsessionError, optionsError } from '../../errors';

const debug = debuglog('hotsession:memcached');

/** How the pool dials memcached. @internal */
export interface PoolOptions {
  client: Client | undefined;
  servers: string | undefined;
  size: number;
  timeout: number;
  failover: boolean;
}

type MemjsModule = typeof import('memjs');

// memjs is an optional peer dependency: only a process that builds a
// MemcachedStore from `servers` loads it, and a missing install is a clear error.
function loadMemjs(): MemjsModule {
  try {
    return require('memjs') as MemjsModule;
  } catch (err) {
    throw new HotsessionError(codes.OPTIONS, 'hotsession/memcached needs the memjs package: npm install memjs', { cause: err });
  }
}

/**
 * A few memjs clients used round-robin, one per batch. Each client holds one
 * socket per server and pipelines every request written to it, so a batch
 * on one client is a burst on one connection per server; a second client
 * lets the next batch go out while the first one's replies stream back.
 */
export class ClientPool {
  readonly clients: readonly Client[];
  readonly #owned: boolean;
  #next = 0;

  constructor(o: PoolOptions) {
    if (o.client !== undefined) {
      if (o.client === null || typeof (o.client as Client).get !== 'function') throw optionsError('client must be a memjs Client');
      this.clients = [o.client];
      this.#owned = false;
      return;
    }
    // memjs splits on ',' and keeps the spaces, which then fail as host names.
    const servers = typeof o.servers === 'string' ? o.servers.split(',').map((s) => s.trim()).filter((s) => s.length > 0).join(',') : '';
    if (servers.length === 0) throw optionsError('MemcachedStore needs { client } or { servers: "host:port,..." }');
    if (!Number.isInteger(o.size) || o.size < 1 || o.size > 64) throw optionsError('pool must be an integer from 1 to 64');
    const memjs = loadMemjs();
    const seconds = o.timeout / 1000;
    const clients: Client[] = [];
    for (let i = 0; i < o.size; i++) {
      clients.push(
        memjs.Client.create(servers, {
          // The store decides about retries: a retry inside memjs would hold a
          // request past the store's timeout while the caller waits.
          retries: 0,
          failover: o.failover,
          // memjs's own per-request deadline is a backstop: the store resets a
          // connection itself when a batch passes its timeout (see burst.ts).
          timeout: seconds * 2,
          conntimeout: seconds,
          // Finds peers that vanished without a FIN (a rebooted host, a NAT drop).
          keepAlive: true,
          keepAliveDelay: 30,
          // memjs logs every failure to the console by default.
          logger: { log: (...args: unknown[]) => debug('memjs: %s', args.join(' ')) },
        }),
      );
    }
    this.clients = clients;
    this.#owned = true;
  }

  /** The client for the next batch. */
  next(): Client {
    const clients = this.clients;
    if (clients.length === 1) return clients[0]!;
    const c = clients[this.#next]!;
    this.#next = (this.#next + 1) % clients.length;
    return c;
  }

  /** Closes the sockets of clients the pool created; a client passed in belongs to its owner. */
  close(): void {
    if (!this.#owned) return;
    for (const c of this.clients) c.close();
  }
}
