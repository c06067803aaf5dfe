// core/dates.ts: the cached cookie date strings are exactly what Date's own
// methods give, for dates across the whole range a Date holds, dates a few
// milliseconds apart (the caches' boundaries), and invalid dates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { isoString, utcString } = require('../../dist/core/dates.js');

const MAX = 8.64e15;

function check(ms) {
  const d = new Date(ms);
  assert.equal(isoString(d), d.toISOString(), `isoString(${ms})`);
  assert.equal(utcString(d), d.toUTCString(), `utcString(${ms})`);
}

test('isoString and utcString equal toISOString and toUTCString over random dates', () => {
  for (let i = 0; i < 50_000; i++) check(Math.floor((Math.random() * 2 - 1) * MAX));
  for (const ms of [0, -1, 1, MAX, -MAX, 86_400_000 - 1, -86_400_000, 253402300799999, 253402300800000, -62167219200001]) check(ms);
});

test('consecutive milliseconds across second and day boundaries (the caches hold the last one)', () => {
  const start = Date.UTC(2026, 11, 31, 23, 59, 58, 990);
  for (let ms = start; ms < start + 3_000; ms += 7) check(ms);
  // Back and forth between two days: the cached day must not leak into the other.
  for (let i = 0; i < 100; i++) check(start + (i % 2) * 86_400_000 + i);
});

test('an invalid date: utcString says so and isoString throws, as Date does', () => {
  const bad = new Date(NaN);
  assert.equal(utcString(bad), 'Invalid Date');
  assert.throws(() => isoString(bad), RangeError);
});
