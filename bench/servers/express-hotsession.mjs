// express + hotsession/express (the express-session drop-in), with its own
// MemoryStore (HS_STORE=memory) or any hotsession store.
import { fatal, MAX_AGE, need, onStop, SECRET, STORE } from './common.mjs';
import { startExpress } from './express-app.mjs';
import { hotsessionStore } from './hotsession-stores.mjs';

const mod = await need('hotsession/express');
// CommonJS `export =`, a default export or a named `session`: take the function whichever it is.
const session = [mod.default, mod.default?.default, mod.session, mod.default?.session, mod].find((f) => typeof f === 'function');
let built = { store: undefined, close: async () => {} };
try {
  if (STORE !== 'memory') built = await hotsessionStore(STORE);
} catch (err) {
  fatal(err);
}
await startExpress(session({
  secret: SECRET,
  resave: false,
  saveUninitialized: false,
  cookie: { maxAge: MAX_AGE },
  store: built.store,
}));
onStop(() => built.close());
