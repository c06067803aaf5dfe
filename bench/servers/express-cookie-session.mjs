// Baseline: express + cookie-session (the whole session in a signed cookie).
import { cjs, MAX_AGE, need, SECRET } from './common.mjs';
import { startExpress } from './express-app.mjs';

const cookieSession = cjs(await need('cookie-session'));
await startExpress(cookieSession({ name: 'session', keys: [SECRET], maxAge: MAX_AGE }));
process.once('SIGTERM', () => process.exit(0));
