#!/usr/bin/env node
// Runs express-session's own test suite (test/session.js + test/cookie.js)
// against hotsession/express, on Express 4 and 5, native and JS codec.
//
// express-session's code is never part of this repository: fetch
// expressjs/session yourself and export its tree, then install its dev
// dependencies there (mocha, supertest, after, cookie-parser):
//
//   git --git-dir=<expressjs/session git dir> archive HEAD | tar -x -C /tmp/es
//   npm i --prefix /tmp/es
//   npx tsc -p . && node scripts/express-session-suite.mjs [/tmp/es]
//
// The copy's `index.js` and `session/cookie.js` are replaced with one-line
// shims that load this worktree's dist/ build, so its tests exercise
// hotsession/express; `express` is switched per run with a symlink in
// test/node_modules (Express 5 from this repo's node_modules, Express 4 from
// its `express4` alias). Prints one line per run and exits non-zero if any
// test failed.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = path.resolve(process.argv[2] ?? process.env.EXPRESS_SESSION_DIR ?? '/tmp/es');
const mocha = path.join(dir, 'node_modules', 'mocha', 'bin', 'mocha.js');
for (const need of [path.join(dir, 'test', 'session.js'), mocha]) {
  if (!fs.existsSync(need)) {
    console.error(`express-session suite: ${need} missing (see the header of this script)`);
    process.exit(2);
  }
}

// The suite's https test reads a certificate from test/fixtures, which some
// snapshots of the repository do not carry: make a throwaway self-signed one.
const fixtures = path.join(dir, 'test', 'fixtures');
if (!fs.existsSync(path.join(fixtures, 'server.crt'))) {
  fs.mkdirSync(fixtures, { recursive: true });
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '30', '-subj', '/CN=express-session.local', '-addext', 'subjectAltName=DNS:express-session.local',
    '-keyout', path.join(fixtures, 'server.key'), '-out', path.join(fixtures, 'server.crt')], { encoding: 'utf8' });
  if (r.status !== 0) console.error(`express-session suite: openssl failed, the https test will fail\n${r.stderr}`);
}

const dist = path.join(root, 'dist', 'adapters', 'express.js');
fs.writeFileSync(path.join(dir, 'index.js'), `module.exports = require(${JSON.stringify(dist)});\n`);
fs.mkdirSync(path.join(dir, 'session'), { recursive: true });
fs.writeFileSync(path.join(dir, 'session', 'cookie.js'), `module.exports = require(${JSON.stringify(dist)}).Cookie;\n`);

const modules = path.join(dir, 'test', 'node_modules');
fs.mkdirSync(modules, { recursive: true });
const expressLink = path.join(modules, 'express');
const expresses = { 4: path.join(root, 'node_modules', 'express4'), 5: path.join(root, 'node_modules', 'express') };

let failed = false;
for (const [major, target] of Object.entries(expresses)) {
  fs.rmSync(expressLink, { force: true });
  fs.symlinkSync(target, expressLink, 'dir');
  for (const codec of ['native', 'js']) {
    const env = { ...process.env };
    if (codec === 'js') env.HOTSESSION_NO_NATIVE = '1';
    else delete env.HOTSESSION_NO_NATIVE;
    const r = spawnSync(process.execPath, [mocha, '--reporter', 'json', '--check-leaks', 'test/session.js', 'test/cookie.js'], {
      cwd: dir, env, encoding: 'utf8', maxBuffer: 64 << 20,
    });
    let stats;
    let failures = [];
    try {
      const out = JSON.parse(r.stdout.slice(r.stdout.indexOf('{')));
      stats = out.stats;
      failures = out.failures;
    } catch {
      console.log(`express ${major}, ${codec} codec: no report (exit ${r.status})\n${r.stderr.slice(0, 2000)}`);
      failed = true;
      continue;
    }
    console.log(`express ${major}, ${codec} codec: ${stats.passes}/${stats.tests} passed, ${stats.failures} failed`);
    for (const f of failures) console.log(`  ✗ ${f.fullTitle}: ${f.err?.message ?? ''}`);
    if (stats.failures > 0 || stats.passes !== stats.tests) failed = true;
  }
}
fs.rmSync(expressLink, { force: true });
process.exit(failed ? 1 : 0);
