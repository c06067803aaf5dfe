// Prototype of a WAIT-based acknowledgement for RedisStore, outside src/ (the
// store's owner adds the real option): a save resolves only once `replicas`
// replicas confirmed it, so a failover cannot lose an acknowledged write.
//
// It wraps the ioredis client the store drives. Every write command the store
// sends for a batch (one EVALSHA/EVAL of the write script on a standalone
// server, or SET/PEXPIRE/DEL for a one-op batch) is followed on the same
// connection by `WAIT replicas timeout`; the write's promise settles with the
// write's reply once WAIT counted enough replicas, and rejects when it did
// not (the write reached the master and may survive, but it is not acknowledged).
//
// Cost: one more command per batch (not per session: a batch of 64 saves
// waits once), and the batch's answer waits for the replica's ack on top of
// the master's reply. Redis blocks this connection during WAIT, so commands
// sent after it (the next turn's MGET) wait too: on one connection, batches
// become serial round trips to the replica.

const WRITES = new Set(['evalsha', 'eval', 'set', 'pexpire', 'del']);

/** Thrown (as a write's rejection) when fewer replicas than asked confirmed the write. */
export class NotReplicatedError extends Error {
  constructor(got, wanted) {
    super(`write acknowledged by ${got} of ${wanted} replica(s)`);
    this.name = 'NotReplicatedError';
    this.code = 'NOT_REPLICATED';
  }
}

/**
 * A view of `client` whose write commands each wait for `replicas` replicas
 * (at most `timeout` ms, Redis' WAIT timeout). Counts WAITs in `.waits`.
 * @param {import('ioredis').Redis} client
 * @param {{ replicas?: number, timeout?: number }} options
 */
export function withWait(client, { replicas = 1, timeout = 500 } = {}) {
  const bound = new Map();
  const counters = { waits: 0, short: 0 };
  return new Proxy(client, {
    get(target, prop) {
      if (prop === 'waitCounters') return counters;
      const value = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      let fn = bound.get(prop);
      if (fn !== undefined) return fn;
      if (WRITES.has(prop)) {
        fn = (...args) => {
          const write = value.apply(target, args);
          // Issued right after the write, on the same connection (and in the
          // same corked socket write when the store corks a batch).
          counters.waits++;
          const wait = target.call('WAIT', replicas, timeout);
          return Promise.all([write, wait]).then(([reply, acked]) => {
            if (Number(acked) < replicas) {
              counters.short++;
              throw new NotReplicatedError(Number(acked), replicas);
            }
            return reply;
          });
        };
      } else {
        fn = value.bind(target);
      }
      bound.set(prop, fn);
      return fn;
    },
  });
}
