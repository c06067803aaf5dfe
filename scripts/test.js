#!/usr/bin/env node
'use strict';
// Runs every test file twice: once on the native codec, once with
// HOTSESSION_NO_NATIVE=1 on the JS fallback. Files under test/package/ (the
// packed tarball in blank apps) and test/tooling/ (the project's scripts)
// check what no codec setting changes, and so do the fault scenarios
// (test/integration/faults-*: backends killed and frozen under load), and so
// do the users' index suites (test/integration/users-*: per-user index logic
// in each backend, thousands of logins; the codec's part in them, the session
// record, is what every conformance suite checks on both codecs): they run
// once, in the first pass.
// Backends that are not reachable are skipped with a reason, unless
// HOTSESSION_REQUIRE_BACKENDS=1 (CI), where a skip for a missing backend
// fails the run. Ends with one closing line for every pass: "tests: N
// passed, N failed, N skipped", where skipped counts skipped tests and
// skipped suites (node's own summary leaves suites out).
//   node scripts/test.js [--js-only|--native-only] [filter...]
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
const args = process.argv.slice(2);
const modes = args.includes('--js-only') ? ['js'] : args.includes('--native-only') ? ['native'] : ['native', 'js'];
const filters = args.filter((a) => !a.startsWith('--'));
const required = process.env.HOTSESSION_REQUIRE_BACKENDS === '1';

// What a skip for a missing backend says: the helpers' reasons ("redis not
// reachable at ...", "memcached not installed", "FerretDB binary not found")
// and the ad-hoc ones ("cluster did not start"). The native pass's own
// backend is the addon: its suites skip with "native addon not loaded".
const BACKEND_SKIP = /not reachable|not installed|not found|did not start|services\.sh|native addon not loaded|\b(redis|memcached|mongo\w*|ferretdb)\b.*\b(down|missing|unavailable|not)\b/i;

function walk(dir) {
  const out = [];
  for (const name of fs.readdirSync(dir)) {
    const p = path.join(dir, name);
    if (fs.statSync(p).isDirectory()) out.push(...walk(p));
    else if (/\.test\.m?js$/.test(name)) out.push(p);
  }
  return out;
}

const files = walk(path.join(root, 'test'))
  .map((f) => path.relative(root, f))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
const once = (f) => ['package', 'tooling'].includes(f.split(path.sep)[1]) || /^(faults|users)-/.test(path.basename(f));

function count(events) {
  const c = { passed: 0, failed: 0, skipped: 0, skippedSuites: 0, todo: 0, skips: [], fails: [] };
  for (const e of events) {
    if (e.skip !== null) {
      if (e.suite) c.skippedSuites++;
      else c.skipped++;
      c.skips.push(e);
    } else if (e.suite) {
      // A suite fails on its own only through a hook; failing tests are counted as tests.
      if (!e.ok && e.failureType === 'hookFailed') { c.failed++; c.fails.push(e); }
    } else if (e.todo) c.todo++;
    else if (e.ok) c.passed++;
    else { c.failed++; c.fails.push(e); } // includes tests cancelled by a failing parent or a timeout
  }
  return c;
}

let failed = false;
const totals = { passed: 0, failed: 0, skipped: 0 };
const backendSkips = [];
const failures = [];
for (const [i, mode] of modes.entries()) {
  const list = files.filter((f) => i === 0 || !once(f));
  if (list.length === 0) continue;
  const env = { ...process.env };
  if (mode === 'js') env.HOTSESSION_NO_NATIVE = '1';
  else delete env.HOTSESSION_NO_NATIVE;
  console.log(`\n# hotsession tests: ${mode} codec, ${list.length} files`);
  const summary = path.join(os.tmpdir(), `hotsession-test-${process.pid}-${mode}.jsonl`);
  const r = spawnSync(process.execPath, [
    '--test',
    // The reporter node would pick by itself, plus ours into a file.
    `--test-reporter=${process.stdout.isTTY ? 'spec' : 'tap'}`, '--test-reporter-destination=stdout',
    `--test-reporter=${path.join(__dirname, 'test-reporter.mjs')}`, `--test-reporter-destination=${summary}`,
    ...list,
  ], { cwd: root, env, stdio: 'inherit' });
  if (r.status !== 0) failed = true;
  let events = [];
  try {
    events = fs.readFileSync(summary, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  } catch (err) {
    console.log(`# hotsession tests: no summary from the ${mode} pass (${err.message})`);
    failed = true;
  }
  fs.rmSync(summary, { force: true });
  const c = count(events);
  const skipped = c.skipped + c.skippedSuites;
  console.log(`# hotsession tests, ${mode} codec: ${c.passed} passed, ${c.failed} failed, ${skipped} skipped` +
    ` (${c.skipped} tests, ${c.skippedSuites} suites)${c.todo ? `, ${c.todo} todo` : ''}`);
  for (const f of c.fails) {
    const where = f.file ? path.relative(root, f.file) : '?';
    console.log(`#   FAILED ${f.suite ? 'suite' : 'test'} ${JSON.stringify(f.name)} (${where}): ${f.error ?? 'no message'}`);
    failures.push(`${mode}: ${where}: ${f.name}`);
  }
  for (const s of c.skips) {
    const where = s.file ? path.relative(root, s.file) : '?';
    console.log(`#   skipped ${s.suite ? 'suite' : 'test'} ${JSON.stringify(s.name)} (${where}): ${s.skip || 'no reason given'}`);
    if (BACKEND_SKIP.test(s.skip)) backendSkips.push(`${mode}: ${where}: ${s.skip}`);
  }
  totals.passed += c.passed;
  totals.failed += c.failed;
  totals.skipped += skipped;
}
if (required && backendSkips.length > 0) {
  console.log(`# HOTSESSION_REQUIRE_BACKENDS=1, yet ${backendSkips.length} skip(s) for a missing backend:`);
  for (const s of backendSkips) console.log(`#   ${s}`);
  failed = true;
}
// Repeated last (CI shows the tail): which tests failed, one line each.
for (const f of failures) console.log(`# failed: ${f}`);
console.log(`tests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(failed ? 1 : 0);
