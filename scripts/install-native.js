#!/usr/bin/env node
'use strict';
// npm "install" hook: builds the native addon offline, and never fails the
// install. Order: a prebuild or an earlier build that node-gyp-build finds
// wins; otherwise node-gyp against the running Node's own headers; otherwise
// the package runs on its JS codec (and says so once at load).

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');

function done(message) {
  if (message) console.log(`hotsession: ${message}`);
  process.exit(0);
}

if (process.env.HOTSESSION_SKIP_NATIVE_BUILD) done('HOTSESSION_SKIP_NATIVE_BUILD set; using the JS codec');

try {
  require('node-gyp-build').path(root);
  done(null); // a prebuild or an existing build matches this Node: nothing to do
} catch {
  // nothing usable yet: build it
}

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
  try {
    require('node-gyp-build').path(root);
    done('native addon built');
  } catch (err) {
    done(`native addon built but not loadable (${String(err.message).split('\n')[0]}); the JS codec will be used`);
  }
}
const why = result.error ? result.error.message : `node-gyp exited with ${result.status ?? result.signal}`;
done(`native addon not built (${why}; rerun with HOTSESSION_VERBOSE_BUILD=1 to see why); the JS codec will be used`);
