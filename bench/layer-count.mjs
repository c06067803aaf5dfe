// Instructions per request of the in-process session layer (issue #15), a
// figure that does not move with the machine's load, to compare two commits.
// Each row runs under `valgrind --tool=callgrind` twice, with N and with 2N
// timed requests after the same setup and warm-up; the difference of the two
// instruction totals over N is the cost of one request (node's start-up, the
// logins and the JIT warm-up cancel out).
//   npm run build && node bench/layer-count.mjs [--requests 4000] [--rows memory,cookie] [--json]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { int, table } from './lib/format.mjs';
import { prepareRow } from './layer.mjs';

const self = fileURLToPath(import.meta.url);
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? fallback : args[i + 1];
};
const REQUESTS = Number(opt('requests', 4000));
const WARMUP = Number(opt('warmup', 20000));
const ROWS = opt('rows', 'naive,memory,cookie,shared-memory').split(',');

function child() {
  const require = createRequire(import.meta.url);
  const hs = require('hotsession');
  const { CookieStore } = require('hotsession/cookie');
  const { request, jar } = prepareRow(hs, CookieStore, opt('row'));
  const loop = (n) => {
    for (let i = 0; i < n; i++) {
      const k = i % jar.length;
      jar[k] = request(jar[k]);
    }
  };
  loop(WARMUP);
  loop(Number(opt('n')));
  process.exit(0); // the stores' timers would keep the child alive
}

/** Total instructions (Ir) of one callgrind run of a child doing `n` timed requests. */
function instructions(row, env, n) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'layer-count-'));
  const out = path.join(dir, 'callgrind.out');
  try {
    const r = spawnSync('valgrind', [
      '--tool=callgrind', '--dump-instr=no', `--callgrind-out-file=${out}`,
      // One thread (no concurrent GC marking or background compiles) and a
      // fixed GC schedule: otherwise the two runs differ by when those land.
      process.execPath, '--single-threaded', '--predictable-gc-schedule', self, '--child', '--row', row, '--n', String(n), '--warmup', String(WARMUP),
    ], { env: { ...process.env, ...env }, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`callgrind run of ${row} failed: ${r.stderr.slice(-2000)}`);
    const m = /^(?:summary|totals): (\d+)/m.exec(readFileSync(out, 'utf8'));
    if (!m) throw new Error(`no instruction total in ${out}`);
    return Number(m[1]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function parent() {
  const rows = [];
  for (const [mode, env] of [['native', {}], ['js', { HOTSESSION_NO_NATIVE: '1' }]]) {
    for (const row of ROWS) {
      if (row === 'naive' && mode === 'js') continue; // the floor has no codec
      const once = instructions(row, env, REQUESTS);
      const twice = instructions(row, env, 2 * REQUESTS);
      rows.push({ row, mode: row === 'naive' ? '-' : mode, instructionsPerRequest: (twice - once) / REQUESTS });
    }
  }
  if (args.includes('--json')) {
    process.stdout.write(JSON.stringify({ requests: REQUESTS, warmup: WARMUP, rows }) + '\n');
    return;
  }
  console.log(`session layer in-process, instructions per request (callgrind, ${REQUESTS} vs ${2 * REQUESTS} requests after ${WARMUP} warm-up), Node ${process.version}\n`);
  console.log(table(['row', 'mode', 'instructions/request'], rows.map((r) => [r.row, r.mode, int(r.instructionsPerRequest)]), ['l', 'l', 'r']));
}

if (args.includes('--child')) child();
else parent();
