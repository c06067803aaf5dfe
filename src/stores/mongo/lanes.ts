/**
 * At most `n` tasks run at once; the rest wait in arrival order. A task
 * keeps its slot until it settles or `holdMs` passes, whichever is first:
 * a command the server never answers must not block the ones behind it
 * past the timeout that already rejected its callers.
 */
export class Lanes {
  #free: number;
  readonly #hold: number;
  readonly #waiting: Array<() => void> = [];

  constructor(n: number, holdMs: number) {
    this.#free = n;
    this.#hold = holdMs;
  }

  run<T>(task: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const start = (): void => {
        let released = false;
        const release = (): void => {
          if (released) return;
          released = true;
          clearTimeout(timer);
          const next = this.#waiting.shift();
          if (next !== undefined) next();
          else this.#free++;
        };
        const timer = setTimeout(release, this.#hold);
        timer.unref();
        Promise.resolve().then(task).then(resolve, reject).finally(release);
      };
      if (this.#free > 0) {
        this.#free--;
        start();
      } else {
        this.#waiting.push(start);
      }
    });
  }
}
