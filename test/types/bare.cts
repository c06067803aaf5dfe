// A strict CommonJS TypeScript app whose only dependency is hotsession: no
// uWebSockets.js, no driver. Compiled from the packed tarball by
// test/package/types.test.mjs (module nodenext, skipLibCheck off), then run.
import hs = require('hotsession');
import http = require('hotsession/http');
import uws = require('hotsession/uws');
import session = require('hotsession/express');
import cookie = require('hotsession/cookie');
import type { SessionHandler } from 'hotsession/uws';

type IsAny<T> = 0 extends 1 & T ? true : false;
// The uWS request and response are real types (uWS's own or the structural
// stand-ins), never a silent any.
const typed: [IsAny<Parameters<SessionHandler>[0]>, IsAny<Parameters<SessionHandler>[1]>] = [false, false];

type Data = { n: number };
const handler: SessionHandler<Data> = (res, req, s) => {
  const n = (s.get('n') ?? 0) + 1;
  s.set('n', n);
  res.writeHeader('x-url', req.getUrl());
  // @ts-expect-error uWS takes strings and bytes as header values, not numbers
  res.writeHeader('x-n', n);
  return String(n);
};
const route = uws.sessions<Data>('sid', new hs.MemoryStore(), { secret: 'a secret' })(handler);

const mw = http.sessions('sid', new hs.MemoryStore(), { secret: 'a secret' });
const express = session({ secret: 'a secret', resave: false, saveUninitialized: false });
const sealed = new cookie.CookieStore({ secret: 'a secret that is long enough for a key' });

const manager = hs.createSessionManager<Data>('sid', new hs.MemoryStore(), { secret: 'a secret' });
const s = manager.load(undefined);
if (s instanceof Promise) throw new Error('the memory store answers synchronously');
s.set('n', 1);

for (const [name, v] of Object.entries({ route, mw, express, commit: uws.commit })) {
  if (typeof v !== 'function') throw new Error(`${name} is not a function`);
}
console.log(JSON.stringify({ format: 'cjs', native: hs.isNativeEnabled(), typed, n: s.get('n'), store: typeof sealed }));
