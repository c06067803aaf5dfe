// Turning results into the summary table, the headline ratios and the files
// under bench/results/: <date>.json, latest.md, latest.svg.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { int, mb, ms, pct, ratio, table } from './format.mjs';
import { barChart } from './svg.mjs';

/** Saturation threshold for the load generator's CPU share. */
export const SATURATED = 0.9;

/**
 * Fills `ratio` of each HTTP row from its baseline row (same variant) of
 * this run, and `sessionCostUs`: its server CPU per request minus that of
 * its framework's raw row (what the session layer costs the server).
 */
export function computeRatios(rows) {
  const byName = new Map(rows.filter((r) => r.status === 'ok').map((r) => [r.name, r]));
  for (const r of rows) {
    r.ratio = null;
    r.sessionCostUs = null;
    const raw = r.rawScenario ? byName.get(r.rawScenario) : undefined;
    if (r.status === 'ok' && raw !== undefined && r.serverCpuUsPerRequest != null && raw.serverCpuUsPerRequest != null) {
      r.sessionCostUs = r.serverCpuUsPerRequest - raw.serverCpuUsPerRequest;
    }
    if (r.status !== 'ok' || r.baselineScenario === null) continue;
    const base = byName.get(`${r.baselineScenario}:${r.variant}`);
    r.baseline = `${r.baselineScenario}:${r.variant}`;
    if (base !== undefined && base.rps > 0) r.ratio = r.rps / base.rps;
  }
}

/** The README's headline numbers, with the issues' targets. */
export function headlines(rows, subRows = []) {
  const get = (n) => rows.find((r) => r.name === n && r.status === 'ok');
  const out = [];
  const add = (text, a, b, target, asPercent = false) => {
    const ra = get(a);
    const rb = get(b);
    if (ra === undefined || rb === undefined || !(rb.rps > 0)) return;
    const value = ra.rps / rb.rps;
    const shown = asPercent ? `${(value * 100).toFixed(0)}%` : `${value.toFixed(2)}x`;
    if (target === null) {
      out.push({ text, a, b, value, target, met: null, line: `${text}: ${shown} (${a} vs ${b})` });
      return;
    }
    const goal = asPercent ? `${target * 100}%` : `${target}x`;
    out.push({ text, a, b, value, target, met: value >= target, line: `${text}: ${shown} (${a} vs ${b}; target >= ${goal}: ${value >= target ? 'met' : 'MISSED'})` });
  };
  for (const v of ['write', 'read']) {
    add(`uWS + hotsession memory as % of raw uWS (${v})`, `uws-memory:${v}`, 'raw-uws', 0.7, true);
    add(`node:http + hotsession memory as % of raw node:http (${v})`, `http-memory:${v}`, 'raw-http', null, true);
    // What each session layer leaves of bare Express's rate (hotsession's can exceed it: src/adapters/shape.ts).
    add(`express + express-session memory as % of bare Express (${v})`, `express-session-memory:${v}`, 'raw-express', null, true);
    add(`express + hotsession/express memory as % of bare Express (${v})`, `express-hotsession-memory:${v}`, 'raw-express', null, true);
  }
  for (const v of ['write', 'read']) {
    add(`uWS + hotsession memory vs express + express-session MemoryStore (${v})`, `uws-memory:${v}`, `express-session-memory:${v}`, 18);
    add(`uWS + hotsession Redis vs express + express-session + connect-redis (${v})`, `uws-redis:${v}`, `express-session-redis:${v}`, 8);
    add(`uWS + hotsession cookie vs express + cookie-session (${v})`, `uws-cookie:${v}`, `express-cookie-session:${v}`, 12);
    add(`express + hotsession/express vs express + express-session, memory (${v})`, `express-hotsession-memory:${v}`, `express-session-memory:${v}`, 1.8);
    add(`express + hotsession/express vs express + express-session, Redis (${v})`, `express-hotsession-redis:${v}`, `express-session-redis:${v}`, 1.8);
  }
  out.push(...issue15Goals(get, subRows));
  for (const v of ['write', 'read']) {
    for (const store of ['memory', 'redis']) {
      const line = sessionLayerBudget(get('raw-express'), get(`express-session-${store}:${v}`), get(`express-hotsession-${store}:${v}`), 1.8);
      if (line !== null) out.push({ text: `Express CPU per request, ${store} (${v})`, value: null, target: null, met: null, line: `Express CPU per request, ${store} (${v}): ${line}` });
    }
  }
  return out;
}

/** Server CPU µs per request of a row (the server's CPU time over the requests it answered). */
function cpuPerRequest(r) {
  if (r === undefined) return null;
  if (r.serverCpuUsPerRequest != null) return r.serverCpuUsPerRequest;
  return r.rps > 0 && r.serverCpuShare > 0 ? (r.serverCpuShare * 1e6) / r.rps : null;
}

const us1 = (n) => `${n.toFixed(1)} µs`;

/**
 * The goal lines of issue #15, each `met` or `missed` with its figures:
 * session cost at most 0.25x the naive layer's (uWS and node:http, memory
 * and cookie stores, 1,000 sessions); request rates against the raw
 * ceilings (write rows: every request reads and writes the counter); the
 * JS codec no slower than the naive layer in-process (bench/layer.mjs).
 */
function issue15Goals(get, subRows) {
  const out = [];
  const verdict = (ok) => (ok ? 'met' : 'missed');
  for (const v of ['write', 'read']) {
    for (const [fw, label] of [['uws', 'uWS'], ['http', 'node:http']]) {
      const naive = get(`naive-${fw}-1k:${v}`);
      for (const store of ['memory', 'cookie']) {
        const hs = get(`${fw}-${store}-1k:${v}`);
        const text = `Session cost, ${label} + hotsession ${store} vs the naive layer, 1,000 sessions, async handler (${v})`;
        if (hs?.sessionCostUs == null || naive?.sessionCostUs == null) continue;
        const value = naive.sessionCostUs > 0 ? hs.sessionCostUs / naive.sessionCostUs : Infinity;
        out.push({
          text, a: hs.name, b: naive.name, value, target: 0.25, met: value <= 0.25,
          line: `${text}: ${us1(hs.sessionCostUs)} vs ${us1(naive.sessionCostUs)} = ${value.toFixed(2)}x (target <= 0.25x: ${verdict(value <= 0.25)})`,
        });
      }
    }
  }
  const rate = (text, a, b, target) => {
    const ra = get(a);
    const rb = get(b);
    if (ra === undefined || rb === undefined || !(rb.rps > 0)) return;
    const value = ra.rps / rb.rps;
    out.push({
      text, a, b, value, target, met: value >= target,
      line: `${text}: ${(value * 100).toFixed(0)}% (${int(ra.rps)} vs ${int(rb.rps)} req/s; target >= ${target * 100}%: ${verdict(value >= target)})`,
    });
  };
  rate('uWS + hotsession MemoryStore as % of raw uWS, 1,000 sessions, async handler (write)', 'uws-memory-1k:write', 'raw-uws', 0.75);
  rate('node:http + hotsession MemoryStore as % of raw node:http, 1,000 sessions, async handler (write)', 'http-memory-1k:write', 'raw-http', 0.8);
  rate('uWS + hotsession sealed CookieStore as % of raw uWS, 1,000 sessions, async handler (write)', 'uws-cookie-1k:write', 'raw-uws', 0.6);
  // bench/layer.mjs rows: { name, store, mode, nsPerRequest } (see that file).
  const layer = subRows.filter((r) => r.file === 'bench/layer.mjs' && r.raw?.nsPerRequest > 0).map((r) => r.raw);
  const floor = layer.find((r) => r.store === 'naive');
  const js = layer.find((r) => r.store === 'memory' && r.mode === 'js');
  if (floor !== undefined && js !== undefined) {
    const value = js.nsPerRequest / floor.nsPerRequest;
    const text = 'In-process, JS codec (HOTSESSION_NO_NATIVE=1) MemoryStore vs the naive layer, load -> get -> set -> commit';
    out.push({
      text, a: js.name, b: floor.name, value, target: 1, met: value <= 1,
      line: `${text}: ${int(js.nsPerRequest)} vs ${int(floor.nsPerRequest)} ns/request = ${value.toFixed(2)}x (target <= 1x: ${verdict(value <= 1)})`,
    });
  }
  return out;
}

/**
 * Server CPU µs per request of bare Express, express + express-session and
 * express + hotsession/express, and the most a request may cost for the
 * drop-in to reach `target` times express-session's rate (the server is
 * CPU-bound in these rows, so rate ~ 1 / CPU per request). A drop-in that
 * left Express's own cost alone could not beat bare Express; hotsession's
 * can (see src/adapters/shape.ts), which is why bare Express is shown.
 */
function sessionLayerBudget(raw, es, hs, target) {
  const [base, esCpu, hsCpu] = [raw, es, hs].map(cpuPerRequest);
  if (base === null || esCpu === null || hsCpu === null) return null;
  const us = (n) => `${Math.round(n)} µs`;
  return `server CPU per request: bare Express ${us(base)}, express-session ${us(esCpu)}, hotsession/express ${us(hsCpu)}; ` +
    `${target}x needs at most ${us(esCpu / target)}`;
}

// autocannon's histogram has 1 ms resolution: 0 means "under a millisecond".
function latency(r, v) {
  return r.loadgen === 'autocannon' && v === 0 ? '< 1 ms' : ms(v);
}

function flags(r) {
  const f = [];
  if (r.loadgenCpuShare !== null && r.loadgenCpuShare > SATURATED) f.push('loadgen saturated');
  if (r.non2xx > 0) f.push(`${int(r.non2xx)} non-2xx`);
  if (r.errors > 0) f.push(`${int(r.errors)} socket errors`);
  return f.join(', ');
}

/** The one summary table (HTTP rows, then store/micro rows that came as JSON). */
export function summaryTable(rows, subRows) {
  const body = [];
  for (const r of rows) {
    if (r.status !== 'ok') {
      body.push([r.name, r.loadgen ?? '-', r.status, '', '', '', '', '', '', '', '', '', r.reason.split('\n')[0].slice(0, 110)]);
      continue;
    }
    const sat = r.loadgenCpuShare !== null && r.loadgenCpuShare > SATURATED ? ' !' : '';
    body.push([
      r.name, r.loadgen, int(r.rps), latency(r, r.p50Ms), latency(r, r.p99Ms),
      r.serverCpuUsPerRequest == null ? '-' : us1(r.serverCpuUsPerRequest),
      r.sessionCostUs == null ? '-' : us1(r.sessionCostUs), r.sessions ? int(r.sessions) : '-', mb(r.serverPeakRss),
      r.ratio === null ? '-' : `${ratio(r.ratio)} vs ${r.baselineScenario}`,
      pct(r.serverCpuShare), pct(r.loadgenCpuShare) + sat, flags(r),
    ]);
  }
  for (const s of subRows) {
    body.push([
      `${s.section}: ${s.name}`, s.loadgen ?? '-', int(s.ops), ms(s.p50Ms), ms(s.p99Ms), '', '', '', '', s.ratio === null || s.ratio === undefined ? '-' : `${ratio(s.ratio)}${s.baseline ? ` vs ${s.baseline}` : ''}`,
      '', pct(s.cpuShare), s.note ?? '',
    ]);
  }
  return table(
    ['scenario', 'loadgen', 'req/s (ops/s)', 'p50', 'p99', 'server CPU/req', 'session cost', 'sessions', 'server peak RSS', 'ratio to baseline', 'server CPU', 'loadgen CPU', 'notes'],
    body,
    ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l', 'r', 'r', 'l'],
  );
}

/** The chart's groups: one per scenario that produced numbers, in run order. */
function chartGroups(rows) {
  const groups = new Map();
  for (const r of rows) {
    if (r.status !== 'ok') continue;
    const g = groups.get(r.scenario) ?? { label: r.label, bars: [] };
    g.bars.push({ variant: r.variant, value: r.rps, note: r.ratio === null ? '' : `${r.ratio.toFixed(1)}x` });
    groups.set(r.scenario, g);
  }
  return [...groups.values()];
}

/**
 * Writes <date>.json, latest.md and latest.svg into `dir`.
 * @returns {{ json: string, md: string, svg: string }} the paths written
 */
export function writeResults(dir, result) {
  mkdirSync(dir, { recursive: true });
  const date = result.startedAt.slice(0, 10);
  const files = { json: path.join(dir, `${date}.json`), md: path.join(dir, 'latest.md'), svg: path.join(dir, 'latest.svg') };
  writeFileSync(files.json, JSON.stringify(result, null, 2) + '\n');
  writeFileSync(files.md, markdown(result));
  const m = result.machine;
  writeFileSync(files.svg, barChart(chartGroups(result.rows), {
    title: 'hotsession: requests/s per stack and store (higher is better)',
    subtitle: `${result.startedAt.slice(0, 10)}, Node ${m.node}, ${m.cpu} x${m.cores}, ${m.codec} codec, ${m.loadgen}, ${result.options.connections} connections, distinct sessions`,
  }) + '\n');
  return files;
}

export function markdown(result) {
  const m = result.machine;
  const o = result.options;
  const out = [];
  out.push('# hotsession benchmark results', '');
  out.push(`Produced by \`${result.command}\` on ${result.startedAt} (${Math.round(result.seconds)} s).`, '');
  out.push(`- Machine: ${m.cpu}, ${m.cores} cores, ${m.platform}-${m.arch}, ${Math.round(m.totalMemory / 1073741824)} GB RAM; Node ${m.node}; load average at start ${m.loadavg.map((x) => x.toFixed(2)).join(' ')}`);
  if (result.busy) out.push(`- **Busy machine**: load average ${m.loadavg[0].toFixed(2)} on ${m.cores} cores when the run started; the numbers are noisy.`);
  out.push(`- Codec: ${m.codec}`);
  out.push(`- Load generator: ${m.loadgen}${m.loadgenVersion ? ` (${m.loadgenVersion})` : ''}, ${o.connections} connections${m.loadgen === 'wrk' ? `, ${o.threads} thread(s)` : ''}, ${o.warmup} s warm-up + ${o.duration} s measured per row`);
  out.push(`- Sessions: ${o.connections} distinct sessions per row (1,000 in the \`-1k\` rows, whose handlers await once before reading the session), created through /login before measuring and checked with /read. ${result.cookieMapping}`);
  out.push('- Server CPU/req: the server process\'s utime + stime (/proc/<pid>/stat) across the measured run over the requests it answered. Session cost: that minus the same framework\'s raw row (raw-uws, raw-http, raw-express). The `naive-*` rows run bench/lib/naive-layer.mjs (regex cookie parse, createHmac, JSON in a Map): the floor of the issue #15 goals.');
  out.push(`- Ratios: against the express + express-session row with the same kind of store (memory: MemoryStore, redis: connect-redis, memcached: connect-memcached, mongo: connect-mongo, cookie: cookie-session), same variant, same run.`);
  out.push(`- Load generator CPU: its CPU time over wall time (per thread for wrk); "!" marks > ${SATURATED * 100}%, where the number measures the load generator more than the server.`, '');
  if (result.headlines.length > 0) {
    out.push('## Headlines', '');
    for (const h of result.headlines) out.push(`- ${h.line}`);
    out.push('');
  }
  out.push('## Summary', '', summaryTable(result.rows, result.subRows), '');
  out.push('![requests per second](latest.svg)', '');
  const notRun = result.rows.filter((r) => r.status !== 'ok');
  if (notRun.length > 0) {
    out.push('## Rows that did not run', '');
    for (const r of notRun) out.push(`- \`${r.name}\` ${r.status}: ${r.reason.replace(/\n/g, ' / ')}`);
    out.push('');
  }
  const texts = result.subBenches.filter((b) => b.text || b.error);
  if (texts.length > 0) {
    out.push('## Micro and store benches (their own output)', '');
    for (const b of texts) {
      out.push(`### ${b.file}${b.args.length ? ' ' + b.args.join(' ') : ''}`, '');
      if (b.error) out.push(`Failed: ${b.error.split('\n')[0]}`, '');
      if (b.text) out.push(fenceOrTable(b.text), '');
    }
  }
  return out.join('\n');
}

// A bench that prints Markdown tables (micro.mjs does) renders as-is; any
// other text goes in a code block so its alignment survives.
function fenceOrTable(text) {
  return /^\|.*\|$/m.test(text) ? text : '```\n' + text + '\n```';
}
