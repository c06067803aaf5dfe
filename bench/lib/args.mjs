// Command-line options of bench/run.mjs.
import os from 'node:os';

export const usage = `usage: node bench/run.mjs [options]
  --quick              short runs (about 2-3 s per scenario)
  --only <pattern>     run rows whose name matches (regex, else substring; --list shows
                       the names); micro/store benches run when their file name matches
  --duration <s>       measured seconds per scenario (default 10; --quick: 2)
  --warmup <s>         unmeasured seconds before each run (default 3; --quick: 0.5)
  --connections <n>    concurrent connections, one session each (default 100)
  --threads <n>        wrk threads (default: 1 on <= 2 cores, else half the cores, max 4)
  --loadgen <name>     wrk | autocannon (default: wrk when installed)
  --skip-micro         skip the micro and store benches
  --skip-stores        skip only the store benches
  --out <dir>          where results go (default bench/results)
  --list               print the scenario names and exit
  -h, --help           this text`;

/** Parses argv into options; throws a message for bad input. */
export function parseArgs(argv) {
  const o = {
    quick: false, only: null, duration: null, warmup: null, connections: 100,
    threads: null, loadgen: null, skipMicro: false, skipStores: false, out: null, list: false, help: false,
  };
  const value = (i, name) => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new Error(`${name} needs a value`);
    return v;
  };
  const number = (v, name, min) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new Error(`${name} must be a number >= ${min}, got ${v}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    switch (a) {
      case '--quick': o.quick = true; break;
      case '--skip-micro': o.skipMicro = true; break;
      case '--skip-stores': o.skipStores = true; break;
      case '--list': o.list = true; break;
      case '-h': case '--help': o.help = true; break;
      case '--only': o.only = value(i++, a); break;
      case '--out': o.out = value(i++, a); break;
      case '--duration': o.duration = number(value(i++, a), a, 0.5); break;
      case '--warmup': o.warmup = number(value(i++, a), a, 0); break;
      case '--connections': o.connections = Math.floor(number(value(i++, a), a, 1)); break;
      case '--threads': o.threads = Math.floor(number(value(i++, a), a, 1)); break;
      case '--loadgen': {
        o.loadgen = value(i++, a);
        if (o.loadgen !== 'wrk' && o.loadgen !== 'autocannon') throw new Error('--loadgen is wrk or autocannon');
        break;
      }
      default: throw new Error(`unknown option ${a}`);
    }
  }
  o.duration ??= o.quick ? 2 : 10;
  o.warmup ??= o.quick ? 0.5 : 3;
  const cores = os.cpus().length;
  o.threads ??= cores <= 2 ? 1 : Math.min(4, Math.floor(cores / 2));
  // wrk needs at least one connection per thread.
  o.threads = Math.min(o.threads, o.connections);
  return o;
}

/** A name filter from --only: a regex when it compiles, else a substring test. */
export function matcher(pattern) {
  if (pattern === null) return () => true;
  let re = null;
  try {
    re = new RegExp(pattern, 'i');
  } catch {
    re = null;
  }
  return re === null ? (name) => name.includes(pattern) : (name) => re.test(name);
}
