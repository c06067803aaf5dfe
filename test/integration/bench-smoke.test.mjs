// Keeps `npm run bench` from rotting: a one-second run of the raw node:http
// ceiling and node:http + hotsession (memory store), written to a temporary
// directory so the committed results are never touched. Asserts the run
// produced numbers and files, never how fast anything was.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

test('bench/run.mjs --quick produces rows, a report and a chart', { timeout: 60_000 }, (t) => {
  const out = mkdtempSync(path.join(os.tmpdir(), 'hotsession-bench-smoke-'));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  const r = spawnSync(process.execPath, [
    'bench/run.mjs', '--quick', '--only', '^(raw-http|http-memory)$', '--duration', '1', '--warmup', '0.5',
    '--connections', '10', '--skip-micro', '--out', out,
  ], { cwd: root, encoding: 'utf8', timeout: 55_000 });
  assert.equal(r.status, 0, `bench exited ${r.status}\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /\[1\/3\] raw-http/, 'progress names the scenario and its position');

  const json = readdirSync(out).filter((f) => /^\d{4}-\d{2}-\d{2}\.json$/.test(f));
  assert.equal(json.length, 1, `one dated JSON file in ${readdirSync(out)}`);
  const result = JSON.parse(readFileSync(path.join(out, json[0]), 'utf8'));
  assert.equal(typeof result.machine.node, 'string');
  assert.ok(['native', 'js'].includes(result.machine.codec), `codec mode ${result.machine.codec}`);
  assert.ok(['wrk', 'autocannon'].includes(result.machine.loadgen));

  const names = result.rows.map((row) => row.name).sort();
  assert.deepEqual(names, ['http-memory:read', 'http-memory:write', 'raw-http']);
  for (const row of result.rows) {
    assert.equal(row.status, 'ok', `${row.name}: ${row.reason}`);
    assert.ok(row.rps > 0, `${row.name} req/s ${row.rps}`);
    assert.equal(row.loadgen, result.machine.loadgen);
    assert.equal(row.non2xx, 0, `${row.name}: every request carried a live session`);
  }
  const rw = result.rows.find((row) => row.name === 'http-memory:write');
  assert.equal(rw.sessions, 10, 'one pre-created session per connection');
  // Server CPU per request from /proc (Linux only), and the session cost over raw-http.
  if (process.platform === 'linux') {
    for (const row of result.rows) assert.ok(row.serverCpuUsPerRequest > 0, `${row.name}: server CPU per request ${row.serverCpuUsPerRequest}`);
    assert.equal(typeof rw.sessionCostUs, 'number', 'session cost against raw-http');
    assert.equal(rw.rawScenario, 'raw-http');
  }

  const md = readFileSync(path.join(out, 'latest.md'), 'utf8');
  assert.match(md, /\| raw-http +\|/);
  assert.match(md, /node bench\/run\.mjs --quick/, 'the report names the command that produced it');
  assert.ok(existsSync(path.join(out, 'latest.svg')));
  const svg = readFileSync(path.join(out, 'latest.svg'), 'utf8').trim();
  assert.ok(svg.startsWith('<svg'), 'svg root element');
  assert.ok(svg.endsWith('</svg>'), 'svg closed');
  assert.match(svg, /<rect /);
  assert.equal((svg.match(/<text\b/g) ?? []).length, (svg.match(/<\/text>/g) ?? []).length, 'balanced <text> elements');
});
