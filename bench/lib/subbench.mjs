// The benches other files own (bench/micro.mjs, bench/layer.mjs, bench/cookie-store.mjs,
// bench/express-layer.mjs, bench/diagnostics.mjs, bench/users.mjs, bench/shared-memory.mjs,
// bench/stores-*.mjs), run as child processes and
// never edited here. A bench whose source mentions `--json` is run with it
// and its JSON becomes table rows; any other bench's stdout goes into the
// report verbatim.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { reapedChildrenCpuSeconds } from './proc.mjs';

const benchDir = fileURLToPath(new URL('../', import.meta.url));

/** The bench files that exist today, as { kind: 'micro'|'store', file } in run order. */
export function findSubBenches({ micro = true, stores = true } = {}) {
  const out = [];
  if (micro) {
    for (const f of ['micro.mjs', 'layer.mjs', 'cookie-store.mjs', 'express-layer.mjs', 'diagnostics.mjs', 'users.mjs', 'shared-memory.mjs']) {
      if (existsSync(benchDir + f)) out.push({ kind: 'micro', file: `bench/${f}` });
    }
  }
  if (stores) {
    for (const f of readdirSync(benchDir).filter((n) => /^stores-.*\.mjs$/.test(n)).sort()) {
      out.push({ kind: 'store', file: `bench/${f}` });
    }
  }
  return out;
}

/**
 * Runs one bench file. Never throws: a failure is a result with `error`.
 * @returns {Promise<{ file: string, kind: string, json: boolean, rows: object[], text: string, error: string|null, seconds: number, args: string[] }>}
 */
export function runSubBench(bench, { quick, runId, root, timeoutMs }) {
  const src = readFileSync(root + '/' + bench.file, 'utf8');
  const json = src.includes('--json');
  const args = [];
  if (json) args.push('--json');
  if (quick && src.includes('--quick')) args.push('--quick');
  const env = { ...process.env, HS_RUN_ID: runId };
  if (quick) {
    env.BENCH_QUICK = '1';
    env.BENCH_TIME_MS ??= '200';
    // A smoke run: FerretDB v1 stalls at 1000 concurrent sessions (see the
    // README's Benchmarks section), and the cell would wait out the kill
    // timer (180 s of CI's budget); 1 and 100 run the same code paths.
    if (bench.file.endsWith('stores-mongo.mjs')) env.BENCH_CONC ??= '1,100';
  }
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bench.file, ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d) => { out += d; });
    child.stderr.setEncoding('utf8').on('data', (d) => { err = (err + d).slice(-4000); });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const finish = (error) => {
      clearTimeout(timer);
      const seconds = (Date.now() - t0) / 1000;
      let rows = [];
      let text = out.trim();
      if (json && error === null) {
        const parsed = parseJson(out);
        // No JSON after all (its source only mentions the flag): keep the text.
        if (parsed === null) text = `(ran with --json but printed no JSON)\n${text}`;
        else {
          rows = normalizeRows(parsed);
          text = '';
        }
      }
      resolve({ file: bench.file, kind: bench.kind, json, args, rows, text, error, seconds });
    };
    child.once('error', (e) => finish(e.message));
    child.once('exit', (code, signal) => {
      if (code === 0) return finish(null);
      const why = signal === 'SIGKILL' ? `killed after ${timeoutMs / 1000} s` : `exit ${signal ?? code}`;
      finish(`${why}: ${err.trim().split('\n').slice(-6).join('\n')}`);
    });
  });
}

function parseJson(out) {
  const whole = out.trim();
  try {
    return JSON.parse(whole);
  } catch { /* maybe logs first: try the last JSON-looking line */ }
  const lines = whole.split('\n').reverse();
  for (const l of lines) {
    const t = l.trim();
    if (t.startsWith('{') || t.startsWith('[')) {
      try {
        return JSON.parse(t);
      } catch { /* keep looking */ }
    }
  }
  return null;
}

const pick = (r, keys) => {
  for (const k of keys) if (typeof r[k] === 'number' && Number.isFinite(r[k])) return r[k];
  return null;
};

/**
 * Accepts the shapes a bench is likely to print (an array of rows, or
 * { rows | results | benchmarks | tasks: [...] }) and the usual field names,
 * and keeps each original row under `raw`.
 */
export function normalizeRows(parsed) {
  const list = Array.isArray(parsed) ? parsed
    : parsed.rows ?? parsed.results ?? parsed.benchmarks ?? parsed.tasks ?? [];
  return list.filter((r) => r !== null && typeof r === 'object').map((r) => {
    const us = (k) => { const v = pick(r, [k]); return v === null ? null : v / 1000; };
    return {
      name: String(r.name ?? r.scenario ?? r.task ?? r.label ?? 'unnamed'),
      ops: pick(r, ['ops', 'opsPerSec', 'ops/s', 'opsPerSecond', 'hz', 'rps', 'throughput']),
      p50Ms: pick(r, ['p50Ms', 'p50']) ?? us('p50Us') ?? us('p50_us'),
      p99Ms: pick(r, ['p99Ms', 'p99']) ?? us('p99Us') ?? us('p99_us'),
      baseline: r.baseline === undefined ? null : String(r.baseline),
      ratio: pick(r, ['ratio']),
      raw: r,
    };
  });
}

/**
 * redis-benchmark GET with 16 pipelined commands per round trip: the rate a
 * Redis store could at best approach on this machine. GET only, so it writes
 * nothing into the user's Redis.
 */
export function redisCeiling({ host, port, requests }) {
  let bin;
  try {
    bin = execFileSync('sh', ['-c', 'command -v redis-benchmark'], { encoding: 'utf8' }).trim();
  } catch {
    return Promise.resolve({ skip: 'redis-benchmark not installed' });
  }
  return new Promise((resolve) => {
    const cpu0 = reapedChildrenCpuSeconds();
    const t0 = process.hrtime.bigint();
    const child = spawn(bin, ['-h', host, '-p', String(port), '-t', 'get', '-P', '16', '-n', String(requests), '--csv'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d) => { out += d; });
    child.once('error', (e) => resolve({ skip: e.message }));
    child.once('exit', (code) => {
      const cpu1 = reapedChildrenCpuSeconds();
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      const line = out.split('\n').find((l) => l.startsWith('"GET"'));
      if (code !== 0 || line === undefined) return resolve({ skip: `redis-benchmark failed (exit ${code})` });
      // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
      const f = line.split(',').map((x) => x.replace(/"/g, ''));
      const cpu = cpu0 === null || cpu1 === null ? null : cpu1 - cpu0;
      resolve({
        ops: Number(f[1]), p50Ms: Number(f[4]), p99Ms: Number(f[6]),
        cpuSeconds: cpu, wallSeconds: wall, cpuShare: cpu === null ? null : cpu / wall,
        command: `redis-benchmark -h ${host} -p ${port} -t get -P 16 -n ${requests} --csv`,
      });
    });
  });
}
