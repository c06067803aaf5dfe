import { randomBytes } from 'node:crypto';
import { CookieStore } from 'hotsession/cookie';
import { conformance } from '../helpers/conformance.mjs';

// A fresh random key per store, as `crypto.randomBytes(32)` in production.
conformance('CookieStore (sealed) over node:http', {
  makeStore: () => new CookieStore({ keys: [randomBytes(32)], mode: 'sealed' }),
  serverSide: false,
});

conformance('CookieStore (signed) over node:http', {
  makeStore: () => new CookieStore({ secrets: [randomBytes(32)], mode: 'signed' }),
  serverSide: false,
});

conformance('CookieStore (sealed, chunked) over node:http', {
  makeStore: () => new CookieStore({ secret: randomBytes(32), chunks: 3 }),
  serverSide: false,
});
