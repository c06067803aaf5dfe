#!/usr/bin/env node
'use strict';
// npm "install" hook. The package ships N-API prebuilds (prebuilds/, made by
// scripts/prepack.js), so on the platforms it ships for this hook finds one
// that loads and does nothing. Only when none fits (another platform, a libc
// or C++ runtime too old for the binary) does it compile, offline, with
// node-gyp against the running Node's own headers. It never fails the
// install: whatever goes wrong, the package runs on its JS codec and says so
// once at load.

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');

function done(message) {
  if (message) console.log(`hotsession: ${message}`);
  process.exit(0);
}

// Belt and braces for "never fails": nothing below should throw, but if it
// does, the install goes on and the JS codec is used.
process.on('uncaughtException', (err) => done(`install hook error (${err && err.message}); the JS codec will be used`));

if (process.env.HOTSESSION_SKIP_NATIVE_BUILD) done('HOTSESSION_SKIP_NATIVE_BUILD set; using the JS codec');

/** Why the addon node-gyp-build picks (build/Release first, then prebuilds/) cannot load, or null when it loads. */
function unloadable() {
  try {
    const addon = require('node-gyp-build')(root);
    return typeof addon.Signer === 'function' ? null : 'it lacks the addon exports';
  } catch (err) {
    return String(err && err.message).split('\n')[0];
  }
}

// A prebuild (or an earlier build) that loads in this Node: nothing to do.
// Loading it, not just finding it, matters: a binary for this platform can
// still need a newer glibc than this machine has, and then compiling helps.
const before = unloadable();
if (before === null) done(null);

// Headers of the running Node. Without them node-gyp would download some,
// which an offline or locked-down install must never attempt.
const nodedir = path.dirname(path.dirname(process.execPath));
if (!fs.existsSync(path.join(nodedir, 'include', 'node', 'node.h'))) {
  done(`no Node headers under ${nodedir}/include/node; native addon not built, the JS codec will be used`);
}

// npm exports the path of the node-gyp it bundles; fall back to npm's own copy,
// then to one on PATH.
function findNodeGyp() {
  const candidates = [];
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
  const npmDir = path.join(nodedir, 'lib', 'node_modules', 'npm');
  for (const from of [root, npmDir]) {
    try {
      candidates.push(require.resolve('node-gyp/bin/node-gyp.js', { paths: [from, path.join(npmDir, 'node_modules')] }));
    } catch {
      // not there
    }
  }
  const found = candidates.find((c) => fs.existsSync(c));
  if (!found) return ['node-gyp'];
  return found.endsWith('.js') ? [process.execPath, found] : [found];
}

const [cmd, ...pre] = findNodeGyp();
const args = [...pre, 'rebuild', `--nodedir=${nodedir}`, '--release'];
const result = spawnSync(cmd, args, {
  cwd: root,
  // A failed build should cost the user one line, not a screen of compiler
  // errors; HOTSESSION_VERBOSE_BUILD=1 shows them.
  stdio: process.env.HOTSESSION_VERBOSE_BUILD ? 'inherit' : 'ignore',
  env: { ...process.env, npm_config_nodedir: nodedir },
});

if (result.status === 0) {
  const why = unloadable();
  done(why === null ? 'native addon built' : `native addon built but not loadable (${why}); the JS codec will be used`);
}
const why = result.error ? result.error.message : `node-gyp exited with ${result.status ?? result.signal}`;
done(`no prebuild loads here (${before}) and the native addon did not build (${why}; ` +
  'rerun with HOTSESSION_VERBOSE_BUILD=1 to see why); the JS codec will be used');
