// The ESM twin of bare.cts: named and default imports of every entry that
// needs no driver, from a strict nodenext app without uWebSockets.js.
import { codes, createSessionManager, HotsessionError, isNativeEnabled, MemoryStore, type Session } from 'hotsession';
import { getSession, sessions } from 'hotsession/http';
import { sessions as uwsSessions, type SessionHandler } from 'hotsession/uws';
import session, { Store } from 'hotsession/express';
import { CookieStore } from 'hotsession/cookie';
import type { IncomingMessage } from 'node:http';

type Data = { user: string };
const manager = createSessionManager<Data>('sid', new MemoryStore({ max: 10 }), { secret: ['new', 'old'] });
const loaded = manager.load(undefined);
const s: Session<Data> = loaded instanceof Promise ? await loaded : loaded;
s.set('user', 'ada');
const wrong = (): void => {
  // @ts-expect-error user is a string
  s.set('user', 1);
};

const handler: SessionHandler<Data> = (res, _req, sess) => {
  // @ts-expect-error a uWS body is a string or bytes
  res.end(404);
  return sess.get('user') ?? 'nobody';
};
const route = uwsSessions<Data>('sid', new MemoryStore(), { secret: 's' })(handler);
const mw = sessions('sid', new MemoryStore(), { secret: 's' });
const user = (req: IncomingMessage): string | undefined => getSession<Data>(req).get('user');

if (typeof session !== 'function' || typeof Store !== 'function' || typeof CookieStore !== 'function') throw new Error('hotsession/express or /cookie exports are missing');
if (typeof route !== 'function' || typeof mw !== 'function' || typeof user !== 'function' || typeof wrong !== 'function') throw new Error('adapters did not build their middleware');
if (!(new HotsessionError(codes.OPTIONS, 'x') instanceof Error)) throw new Error('HotsessionError is not an Error');
console.log(JSON.stringify({ format: 'esm', native: isNativeEnabled(), user: s.get('user') }));
