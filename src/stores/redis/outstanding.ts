import { codes, HotsessionError } from '../../errors';

/**
 * Operations handed to the Redis client and not yet settled by it, reads
 * and writes alike, with a cap.
 *
 * The store's own timeout fails a caller after `timeout` ms, but the
 * command stays in ioredis' queue until Redis answers or the connection
 * drops: with Redis black-holed (a partition: the socket stays open and
 * nothing comes back) the client's queue and memory would grow with every
 * request. Counting until the client settles each command, not until the
 * store's timeout fires, and refusing new work past the cap, bounds both.
 */
export class Outstanding {
  readonly #max: number;
  #n = 0;

  constructor(max: number) {
    this.#max = max;
  }

  /** The cap. */
  get max(): number {
    return this.#max;
  }

  /** Operations at the client now. */
  get count(): number {
    return this.#n;
  }

  /** How many more operations may be handed to the client now. */
  get room(): number {
    return Math.max(0, this.#max - this.#n);
  }

  /** Counts `n` operations until `p` settles; returns `p`. */
  hold<T>(n: number, p: Promise<T>): Promise<T> {
    this.#n += n;
    const release = (): void => {
      this.#n -= n;
    };
    p.then(release, release);
    return p;
  }

  /** The error for an operation refused because the client already holds the cap. */
  refusal(what: string): HotsessionError {
    return new HotsessionError(codes.QUEUE_FULL, `${what}: ${this.#n} operations are already waiting for Redis (maxPending ${this.#max})`);
  }
}
