// The same app where @types/express-session is installed too: its SessionData augmentation types
// req.session, and its MemoryStore is accepted as `store` without a cast. Compiled from the packed
// tarball by test/package/express-types.test.mjs.
import express = require('express');
import expressSession = require('express-session');
import session = require('hotsession/express');

declare module 'express-session' {
  interface SessionData {
    user: string;
  }
}

const app = express();
// A store typed by @types/express-session is accepted as it is.
app.use(session({ secret: 'a secret', resave: false, saveUninitialized: false, store: new expressSession.MemoryStore() }));
app.get('/', (req, res) => {
  const user: string | undefined = req.session.user;
  req.session.save(() => res.send(user ?? ''));
});
app.get('/typo', (req, res) => {
  // @ts-expect-error a misspelled session key does not compile
  req.session.usr = 'ada';
  res.end();
});
export { app };
