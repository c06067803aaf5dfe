// The autocannon load generator in its own process (so it never shares a
// core with the harness): config as JSON in argv[2], one JSON line of
// results on stdout, including the CPU this process spent while it ran.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const autocannon = require('autocannon');
const cfg = JSON.parse(process.argv[2]);

// One session per connection: autocannon calls setupClient once per
// connection, so connection i carries cookies[i] for its whole life.
let next = 0;
const cookies = readFileSync(cfg.cookieFile, 'utf8').split('\n').filter((l) => l !== '');
const setupClient = (client) => {
  const cookie = cookies[next++ % Math.max(1, cookies.length)];
  if (cookie) client.setHeaders({ cookie });
};

const cpu0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
autocannon({
  url: `http://127.0.0.1:${cfg.port}${cfg.path}`,
  connections: cfg.connections,
  duration: cfg.duration,
  pipelining: 1,
  setupClient,
}, (err, r) => {
  if (err) {
    process.stderr.write(`${err.stack ?? err}\n`);
    process.exit(1);
  }
  const cpu = process.cpuUsage(cpu0);
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  process.stdout.write(JSON.stringify({
    requests: r.requests.total,
    duration: r.duration,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    wallSeconds: wall,
  }) + '\n');
});
