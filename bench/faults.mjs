// npm run bench:faults: the fault scenarios of issue #14 with their figures,
// for hotsession's http, uWS and express adapters and for express-session on
// connect-redis / connect-memcached / connect-mongo, in the same scenarios.
// The scenarios, the load loop and the app under test are the fault tests'
// own (test/helpers/fault-*.mjs): one backend of the run's own per scenario,
// one fault, the apps side by side (each in its own process, each with its
// own fixed-rate load), or one after the other with --serial.
import { execFileSync } from 'node:child_process';
import { writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { table } from './lib/format.mjs';
import * as S from '../test/helpers/fault-scenarios.mjs';

const usage = `usage: node bench/faults.mjs [options]
  --only <a,b>        scenarios to run (names below; default: all)
  --quick             shorter faults (2-3 s instead of 5-10 s) and lower rates
  --serial            one app at a time instead of side by side (cleaner figures, slower)
  --rate <n>          requests/s per app (default per scenario)
  --soak-seconds <n>  soak length (default 25; issue #14's long run: 180)
  --soak-rate <n>     soak requests/s (default 1000; issue #14's long run: 5000)
  --out <dir>         also write faults.json and faults.md there
  -h, --help          this text
scenarios: redis-freeze redis-kill redis-blackhole redis-slow sentinel sentinel-lag memcached-kill mongo-restart soak`;

function parseArgs(argv) {
  const o = { only: null, quick: false, serial: false, rate: null, soakSeconds: 25, soakRate: 1000, out: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--only') o.only = value().split(',');
    else if (a === '--quick') o.quick = true;
    else if (a === '--serial') o.serial = true;
    else if (a === '--rate') o.rate = Number(value());
    else if (a === '--soak-seconds') o.soakSeconds = Number(value());
    else if (a === '--soak-rate') o.soakRate = Number(value());
    else if (a === '--out') o.out = value();
    else if (a === '-h' || a === '--help') { console.log(usage); process.exit(0); }
    else throw new Error(`unknown option ${a}\n${usage}`);
  }
  return o;
}

const opts = parseArgs(process.argv.slice(2));

// A scenario's backends and apps are this process's children: on Ctrl-C,
// kill them too (a frozen redis-server would otherwise stay behind).
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    let pids = [];
    try {
      pids = execFileSync('ps', ['-o', 'pid=', '--ppid', String(process.pid)], { encoding: 'utf8' }).split('\n').map(Number).filter(Boolean);
    } catch {
      // no ps: nothing more to do
    }
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    process.exit(130);
  });
}
const q = opts.quick;
const rate = (n) => opts.rate ?? (q ? Math.round(n / 2) : n);

// Stacks per backend: hotsession's three adapters on its own store, then the
// Express baselines. connect-redis has no timeout: its requests wait out a
// stall, so its apps get more sessions (one request in flight per session).
const redisStacks = [
  { label: 'hotsession/http', stack: 'http', store: 'redis', httpSetHeader: true },
  { label: 'hotsession/uws', stack: 'uws', store: 'redis' },
  { label: 'hotsession/express', stack: 'express', store: 'redis' },
  { label: 'hotsession/express + connect-redis', stack: 'express', store: 'connect-redis', sessions: 1200 },
  { label: 'express-session + connect-redis', stack: 'express-session', store: 'connect-redis', sessions: 1200 },
];
const memcachedStacks = [
  { label: 'hotsession/http', stack: 'http', store: 'memcached', httpSetHeader: true },
  { label: 'hotsession/uws', stack: 'uws', store: 'memcached' },
  { label: 'hotsession/express', stack: 'express', store: 'memcached' },
  { label: 'express-session + connect-memcached', stack: 'express-session', store: 'connect-memcached', sessions: 600 },
];
const mongoStacks = [
  { label: 'hotsession/http', stack: 'http', store: 'mongo', httpSetHeader: true },
  { label: 'hotsession/uws', stack: 'uws', store: 'mongo' },
  { label: 'hotsession/express', stack: 'express', store: 'mongo' },
  // Logging 1,200 sessions in through connect-mongo on FerretDB takes most of a minute: fewer suffice at this rate.
  { label: 'express-session + connect-mongo', stack: 'express-session', store: 'connect-mongo', sessions: 400 },
];
// Sentinel needs an ioredis client in sentinel mode: hotsession's stores only (connect-redis takes node-redis).
const sentinelStacks = redisStacks.slice(0, 3);

const scenarios = [
  { name: 'redis-freeze', what: `Redis SIGSTOP ${q ? 2 : 5} s`, run: (stacks) => S.redisFreeze({ stacks, freezeMs: q ? 2000 : 5000, rate: rate(100), sessions: 300, loginShare: 0.2 }), stacks: redisStacks },
  { name: 'redis-kill', what: `Redis SIGKILL, restarted after ${q ? 2 : 3} s (AOF fsync always)`, run: (stacks) => S.redisKill({ stacks, downMs: q ? 2000 : 3000, rate: rate(100), sessions: 300 }), stacks: redisStacks },
  { name: 'redis-blackhole', what: `proxy forwards nothing for ${q ? 3 : 10} s`, run: (stacks) => S.redisBlackhole({ stacks, holeMs: q ? 3000 : 10_000, rate: rate(100), sessions: 300, storeOptions: { maxPending: 200 } }), stacks: redisStacks },
  { name: 'redis-slow', what: `+500 ms per reply for ${q ? 4 : 8} s, maxPending 32`, run: (stacks) => S.redisSlow({ stacks, slowMs: q ? 4000 : 8000, rate: rate(160), sessions: 600, storeOptions: { maxPending: 32 } }), stacks: redisStacks },
  { name: 'sentinel', what: 'master + 1 replica, master SIGKILL, Sentinel promotes', run: (stacks) => S.sentinelFailover({ stacks, rate: rate(100), sessions: 300 }), stacks: sentinelStacks },
  {
    name: 'sentinel-lag',
    what: 'master + 2 replicas 30 ms behind, master SIGKILL; WAIT 1 prototype',
    run: (stacks) => S.sentinelFailover({ stacks, replicas: 2, replicaLagMs: 30, rate: rate(100), sessions: 300 }),
    stacks: [
      { label: 'hotsession/http', stack: 'http', store: 'redis', httpSetHeader: true },
      { label: 'hotsession/http + WAIT 1', stack: 'http', store: 'redis', httpSetHeader: true, wait: { replicas: 1, timeout: 500 }, rate: rate(50) },
    ],
  },
  { name: 'memcached-kill', what: `memcached SIGKILL, restarted after ${q ? 2 : 3} s (comes back empty)`, run: (stacks) => S.memcachedKill({ stacks, downMs: q ? 2000 : 3000, afterMs: 8000, rate: rate(100), sessions: 300 }), stacks: memcachedStacks },
  { name: 'mongo-restart', what: `FerretDB SIGKILL, restarted after ${q ? 2 : 3} s`, run: (stacks) => S.ferretRestart({ stacks, downMs: q ? 2000 : 3000, afterMs: 6000, rate: rate(30), sessions: 300 }), stacks: mongoStacks },
  {
    name: 'soak',
    what: `no fault: ${opts.soakRate} req/s on 1,000 sessions for ${opts.soakSeconds} s`,
    run: (stacks) => S.soak({ stacks, durationMs: opts.soakSeconds * 1000, warmMs: Math.min(60_000, Math.max(8000, (opts.soakSeconds * 1000) / 3)), rate: opts.soakRate, sessions: 1000 }),
    stacks: [{ label: 'hotsession/uws + MemoryStore', stack: 'uws', store: 'memory' }],
  },
];

const chosen = opts.only === null ? scenarios : scenarios.filter((s) => opts.only.includes(s.name));
if (chosen.length === 0) throw new Error(`no scenario named ${opts.only}\n${usage}`);

const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const header = [
  `hotsession fault scenarios: node ${process.version}, ${os.cpus().length} x ${cpu}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} at start`,
  `codec: ${process.env.HOTSESSION_NO_NATIVE ? 'JS (HOTSESSION_NO_NATIVE)' : 'native when built'}; stores at their default 1000 ms timeout; ioredis maxRetriesPerRequest 1;`,
  `apps ${opts.serial ? 'one at a time' : 'side by side'}${q ? '; --quick (short faults, half rates)' : ''}`,
].join('\n');
console.log(header);

const rows = [];
const json = [];
for (const sc of chosen) {
  const t0 = Date.now();
  process.stdout.write(`\n${sc.name}: ${sc.what} ... `);
  const groups = opts.serial ? sc.stacks.map((s) => [s]) : [sc.stacks];
  for (const stacks of groups) {
    let results;
    try {
      results = await sc.run(stacks);
    } catch (err) {
      for (const s of stacks) rows.push([sc.name, s.label, `failed: ${err.message.split('\n')[0]}`]);
      continue;
    }
    for (const [label, f] of Object.entries(results)) {
      rows.push(row(sc.name, label, f));
      const { load, samples, ...figures } = f;
      void load;
      void samples;
      json.push({ scenario: sc.name, what: sc.what, stack: label, ...figures });
    }
  }
  process.stdout.write(`${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
}

function answers(byStatus) {
  const rank = (k) => {
    const i = ['200', '503', '500', '401', '0'].indexOf(k);
    return i === -1 ? 99 : i;
  };
  return Object.keys(byStatus).sort((a, b) => rank(a) - rank(b)).map((k) => `${k === '0' ? 'none' : k}:${byStatus[k]}`).join(' ');
}

function topError(errors) {
  const e = Object.entries(errors).sort((a, b) => b[1] - a[1])[0];
  return e ? `${e[0].replace('HOTSESSION_ERR_', '')} x${e[1]}` : '';
}

function row(scenario, label, f) {
  const fmt = (n) => (n === null || n === undefined ? '-' : String(Math.round(n)));
  const rss = f.rssSlopeMBPerMin !== undefined ? `${f.rssAfterWarmMB}->${f.rssEndMB} (${f.rssSlopeMBPerMin}/min)` : `+${f.rssGrowthMB}`;
  const queue = [f.maxPending === null ? null : `p${f.maxPending}`, f.maxDriverQueue === null ? null : `d${f.maxDriverQueue}`].filter(Boolean).join(' ');
  return [
    scenario, label, answers(f.byStatus), fmt(f.maxMs), fmt(f.p99Ms), String(f.acked),
    `${f.lostAcked}${f.sessionsLost ? ` (${f.sessionsLost} sess.)` : ''}`, String(f.okWhileDown),
    fmt(f.recoveryMs), fmt(f.unavailableMs), rss, queue || '-', f.crashed ? `CRASH ${JSON.stringify(f.crashed)}` : topError(f.errors),
  ];
}

const headers = ['scenario', 'stack', 'answers', 'max ms', 'p99 ms', 'acked', 'lost', '200 unsaved', 'recovery ms', 'unavail. ms', 'RSS MB', 'queues', 'errors / crash'];
const align = ['l', 'l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l', 'l'];
const legend = [
  'answers: HTTP statuses (none: no answer: socket closed or client timeout); acked: 200s to saves;',
  'lost: acknowledged writes that did not read back (sess.: sessions gone entirely); 200 unsaved: saves answered 200',
  'while the backend could not have acknowledged them; recovery: heal to the first success; unavail.: first failure',
  'to last failure; RSS: peak growth during the fault (soak: after warm-up -> end, slope); queues: p = store pending,',
  'd = commands queued in ioredis (peaks); errors: the commonest session error the app saw (code, status on the error).',
].join('\n');
const md = `${header}\n\n${table(headers, rows, align)}\n\n${legend}\n`;
console.log(`\n${table(headers, rows, align)}\n\n${legend}`);
if (opts.out) {
  mkdirSync(opts.out, { recursive: true });
  writeFileSync(path.join(opts.out, 'faults.json'), JSON.stringify({ header, results: json }, null, 2));
  writeFileSync(path.join(opts.out, 'faults.md'), md);
  console.log(`\nwritten: ${path.join(opts.out, 'faults.json')}, faults.md`);
}
