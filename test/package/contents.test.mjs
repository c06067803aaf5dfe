// What the packed tarball holds: this platform's prebuild, every file the
// exports map names, dist/ compiled from src/ and nothing else (no build
// leftovers, no tests), and the list the README's Development section shows.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { block, BEGIN, END } from '../../scripts/pack-contents.mjs';
import { npmCli, packedTarball, PKG, ROOT, tarballFiles } from '../helpers/pack.mjs';

const unavailable = npmCli() === null ? 'npm CLI not found' : null;
if (unavailable && process.env.CI) throw new Error(`tarball tests cannot run: ${unavailable}`);
const skip = unavailable ?? false;

let files;
before(() => {
  if (!unavailable) files = tarballFiles(packedTarball());
});

function srcModules(dir = path.join(ROOT, 'src')) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return srcModules(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [path.relative(path.join(ROOT, 'src'), p).replace(/\.ts$/, '')] : [];
  });
}

test('the tarball carries the prebuild for this platform, the fallback build inputs and the license', { skip }, () => {
  const prebuilds = files.filter((f) => f.startsWith(`prebuilds/${process.platform}-${process.arch}/`) && f.endsWith('.node'));
  assert.ok(prebuilds.length > 0, `no prebuild for ${process.platform}-${process.arch} in:\n${files.join('\n')}`);
  for (const must of ['LICENSE', 'README.md', 'package.json', 'binding.gyp', 'scripts/install-native.js', 'native/src/addon.cc']) {
    assert.ok(files.includes(must), `${must} missing from the tarball`);
  }
});

test('every file the exports map names is in the tarball', { skip }, () => {
  const targets = Object.values(PKG.exports).flatMap((v) => (typeof v === 'string' ? [v] : Object.values(v)));
  for (const t of [PKG.main, PKG.types, ...targets]) assert.ok(files.includes(t.replace(/^\.\//, '')), `${t} is not in the tarball`);
});

test('dist/ is exactly src/ compiled (one .js and one .d.ts per module), and nothing built or test-only ships', { skip }, () => {
  const expected = srcModules().flatMap((m) => [`dist/${m}.js`, `dist/${m}.d.ts`]).sort();
  assert.deepEqual(files.filter((f) => f.startsWith('dist/')), expected);
  const stray = files.filter((f) => /^(build|src|test|bench|examples|native\/fuzz|node_modules)\//.test(f) || (f.startsWith('scripts/') && f !== 'scripts/install-native.js'));
  assert.deepEqual(stray, []);
});

test('the README lists what npm pack ships (regenerate: node scripts/pack-contents.mjs --write)', { skip }, () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const a = readme.indexOf(BEGIN);
  const b = readme.indexOf(END);
  assert.ok(a !== -1 && b > a, `README.md has no ${BEGIN} block`);
  assert.equal(readme.slice(a, b + END.length), block(files));
});
