// Compiled by test/package/types.test.mjs from the packed tarball, in an app
// that has uWebSockets.js and every driver (skipLibCheck off): the public
// types must be complete and must help.
import { createSessionManager, MemoryStore, Session, HotsessionError, codes, isNativeEnabled } from 'hotsession';
import { sessions, getSession, sessionsMany, getSessionMany } from 'hotsession/http';
import { CookieStore } from 'hotsession/cookie';
import * as uws from 'hotsession/uws';
import { RedisStore } from 'hotsession/redis';
import { MemcachedStore } from 'hotsession/memcached';
import { MongoStore } from 'hotsession/mongo';
import session = require('hotsession/express');
import type { IncomingMessage } from 'node:http';

type Data = { user: string; views: number };

const store = new MemoryStore({ max: 10 });
const manager = createSessionManager<Data>('sid', store, { secret: ['a', 'b'], cookie: { sameSite: 'strict', maxAge: 1000 } });
const loaded = manager.load(undefined);
if (!(loaded instanceof Promise)) {
  const s: Session<Data> = loaded;
  s.set('views', 1);
  // @ts-expect-error views is a number
  s.set('views', 'one');
  const user: string | undefined = s.get('user');
  void user;
}

const mw = sessions('sid', store, { secret: 's', errorStatus: 503 });
const many = sessionsMany(['a', 'b'], store, { secret: 's' });
// The middleware carries its managers, for the account API outside a request.
const listed: Promise<Array<{ handle: string; lastSeenAt: number }>> = mw.manager.sessionsOf('u1');
const revoked: Promise<number> = many.managers.a!.revokeUser('u1');
// @ts-expect-error several sessions have no single manager
void many.manager;
void [listed, revoked];
declare const req: IncomingMessage;
const typed = getSession<Data>(req);
const v: number | undefined = typed.get('views');
const other = getSessionMany(req, 'a');
void [mw, many, v, other, isNativeEnabled(), codes.OPTIONS, HotsessionError, CookieStore, uws.sessions, RedisStore, MemcachedStore, MongoStore, session];
