// A strict Express app on hotsession/express, as a TypeScript user writes one without
// @types/express-session: SessionData augmented through hotsession/express, req.session typed,
// a misspelled key refused. Compiled from the packed tarball by test/package/express-types.test.mjs.
import express = require('express');
import session = require('hotsession/express');

declare module 'hotsession/express' {
  interface SessionData {
    user: string;
    views: number;
  }
}

const app = express();
app.use(session({ secret: 'a secret', resave: false, saveUninitialized: false, store: new session.MemoryStore() }));
app.get('/', (req, res) => {
  req.session.views = (req.session.views ?? 0) + 1;
  const user: string | undefined = req.session.user;
  const id: string = req.sessionID;
  req.session.regenerate((err) => {
    if (err) throw err;
    req.session.user = 'ada';
    res.send(`${user ?? ''} ${id} ${req.session.views ?? 0} ${req.session.cookie.maxAge ?? ''}`);
  });
});
app.get('/typo', (req, res) => {
  // @ts-expect-error a misspelled session key does not compile
  req.session.usr = 'ada';
  res.end();
});
// Users' sessions: login(req) beside req.session, the middleware's manager as the account API.
const withUsers = session({ secret: 'a secret', resave: false, saveUninitialized: false });
app.get('/login', async (req, res) => {
  await session.login(req, 'ada', { userAgent: req.get('user-agent') ?? null });
  const me: { userId: string; handle: string } | null = session.userOf(req);
  const listed = await withUsers.manager?.sessionsOf(me?.userId ?? 'ada');
  res.json(listed?.map((d) => d.lastSeenAt));
});
export { app };
