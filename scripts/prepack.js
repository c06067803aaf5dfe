#!/usr/bin/env node
'use strict';
// npm "prepack" hook (npm pack, npm publish): makes the tarball carry a
// prebuilt addon so that installing it needs no compiler, and no stale file.
//   1. removes dist/: npm runs "prepare" (tsc) right after this hook, so the
//      tarball holds exactly what src/ compiles to, not leftovers of another branch;
//   2. removes prebuilds/ unless HOTSESSION_KEEP_PREBUILDS=1: binaries of other
//      platforms come only from a release job that just collected them (see
//      README, Development), never from an old checkout;
//   3. builds this platform's N-API prebuild with prebuildify, against the
//      running Node's own headers (offline), into prebuilds/<platform>-<arch>/,
//      tagged with the libc so that musl and glibc systems each pick their own;
//   4. loads it, so that a broken binary fails the pack instead of every install.
// Unlike the install hook, this one fails loudly: a tarball without its
// prebuild would make every user compile.

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');

function fail(message) {
  console.error(`hotsession prepack: ${message}`);
  process.exit(1);
}

fs.rmSync(path.join(root, 'dist'), { recursive: true, force: true });
if (process.env.HOTSESSION_KEEP_PREBUILDS !== '1') {
  fs.rmSync(path.join(root, 'prebuilds'), { recursive: true, force: true });
}

const nodedir = path.dirname(path.dirname(process.execPath));
if (!fs.existsSync(path.join(nodedir, 'include', 'node', 'node.h'))) {
  fail(`no Node headers under ${nodedir}/include/node: cannot build the prebuild offline`);
}

// prebuildify spawns node-gyp by name: npm puts its bundled copy on PATH for
// lifecycle scripts; outside npm, npm_config_node_gyp or npm's own copy.
function nodeGyp() {
  if (process.env.npm_config_node_gyp && fs.existsSync(process.env.npm_config_node_gyp)) return process.env.npm_config_node_gyp;
  const bundled = path.join(nodedir, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  return fs.existsSync(bundled) ? bundled : 'node-gyp';
}

const prebuildify = require.resolve('prebuildify/bin.js', { paths: [root] });
const r = spawnSync(process.execPath, [prebuildify, '--napi', '--strip', '--tag-libc', `--node-gyp=${nodeGyp()}`], {
  cwd: root,
  stdio: 'inherit',
  // node-gyp reads npm_config_nodedir: the local headers, never a download.
  env: { ...process.env, npm_config_nodedir: nodedir },
});
if (r.status !== 0) fail(`prebuildify failed (${r.error ? r.error.message : `exit ${r.status ?? r.signal}`})`);

const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
const built = fs.readdirSync(dir).filter((f) => f.endsWith('.node'));
if (built.length === 0) fail(`prebuildify wrote no .node file into ${dir}`);
for (const file of built) {
  const addon = require(path.join(dir, file));
  if (typeof addon.Signer !== 'function' || typeof addon.frame !== 'function') fail(`${file} loads but lacks the addon's exports`);
  console.log(`hotsession prepack: prebuilds/${path.basename(dir)}/${file} (${fs.statSync(path.join(dir, file)).size} bytes)`);
}
