// The two load generators behind one interface. Each runs in its own
// process; besides throughput and latency, each run reports how busy the
// load generator itself was, since a saturated load generator measures
// itself rather than the server.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { reapedChildrenCpuSeconds } from './proc.mjs';

const wrkScript = fileURLToPath(new URL('../wrk/sessions.lua', import.meta.url));
const acChild = fileURLToPath(new URL('./autocannon-child.mjs', import.meta.url));

/** Path of wrk when it is installed, else null. */
export function findWrk() {
  if (existsSync('/usr/bin/wrk')) return '/usr/bin/wrk';
  try {
    return execFileSync('sh', ['-c', 'command -v wrk'], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

/** wrk's version line, for the report. */
export function wrkVersion(bin) {
  try {
    execFileSync(bin, ['-v'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    // wrk -v prints its banner and exits 1.
    return /wrk \S+/.exec(String(err.stdout ?? ''))?.[0] ?? 'wrk';
  }
  return 'wrk';
}

function run(bin, args) {
  return new Promise((resolve, reject) => {
    const cpu0 = reapedChildrenCpuSeconds();
    const t0 = process.hrtime.bigint();
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d) => { out += d; });
    child.stderr.setEncoding('utf8').on('data', (d) => { err = (err + d).slice(-4000); });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      // Read right after the child was reaped: the delta is this child's CPU time.
      const cpu1 = reapedChildrenCpuSeconds();
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      if (code !== 0) return reject(new Error(`${bin} exited (${signal ?? code}): ${(err || out).trim().slice(-800)}`));
      resolve({ out, wall, cpu: cpu0 === null || cpu1 === null ? null : cpu1 - cpu0 });
    });
  });
}

/**
 * One measured run.
 * @param {{ kind: 'wrk'|'autocannon', bin?: string, port: number, path: string,
 *   cookieFile: string, connections: number, threads: number, duration: number }} o
 * @returns {Promise<{ rps: number, requests: number, p50Ms: number, p99Ms: number, non2xx: number,
 *   errors: number, cpuSeconds: number|null, wallSeconds: number, cpuShare: number|null, capacity: number }>}
 */
export async function measure(o) {
  return o.kind === 'wrk' ? runWrk(o) : runAutocannon(o);
}

async function runWrk(o) {
  const seconds = Math.max(1, Math.round(o.duration));
  const args = [
    '-t', String(o.threads), '-c', String(o.connections), '-d', `${seconds}s`, '--timeout', '5s',
    '-s', wrkScript, `http://127.0.0.1:${o.port}${o.path}`, '--', o.cookieFile, o.path, String(o.threads),
  ];
  const { out, wall, cpu } = await run(o.bin, args);
  const line = out.split('\n').find((l) => l.startsWith('WRK_JSON '));
  if (line === undefined) throw new Error(`wrk printed no result:\n${out.slice(-800)}`);
  const r = JSON.parse(line.slice('WRK_JSON '.length));
  const e = r.errors;
  return {
    rps: r.requests / (r.duration_us / 1e6),
    requests: r.requests,
    p50Ms: r.p50_us / 1000,
    p99Ms: r.p99_us / 1000,
    non2xx: e.status,
    errors: e.connect + e.read + e.write + e.timeout,
    cpuSeconds: cpu,
    wallSeconds: wall,
    // wrk runs `threads` busy threads: its ceiling is that many cores.
    capacity: o.threads,
    cpuShare: cpu === null ? null : cpu / wall / o.threads,
  };
}

async function runAutocannon(o) {
  const cfg = { port: o.port, path: o.path, cookieFile: o.cookieFile, connections: o.connections, duration: o.duration };
  const { out, wall, cpu } = await run(process.execPath, [acChild, JSON.stringify(cfg)]);
  const r = JSON.parse(out.trim().split('\n').pop());
  // Prefer the CPU autocannon measured over its own run (no Node start-up in it).
  const cpuSeconds = r.cpuSeconds ?? cpu;
  const runWall = r.wallSeconds ?? wall;
  return {
    rps: r.requests / r.duration,
    requests: r.requests,
    p50Ms: r.p50Ms,
    p99Ms: r.p99Ms,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
    cpuSeconds,
    wallSeconds: runWall,
    capacity: 1,
    cpuShare: cpuSeconds === null ? null : cpuSeconds / runWall,
  };
}
