// The HTTP scenarios. Each row runs one server file with one store; a row
// with sessions runs twice, `read` (GET /read: session read, no write) and
// `write` (GET /write: session read and a counter saved every request).
// `baseline` names the express-session row with the same kind of store,
// which the row's ratio is computed against (same variant); `raw` names the
// ceiling of the same framework, whose server CPU per request is subtracted
// from the row's to give its session cost. The `-1k` rows hold 1,000
// sessions (instead of one per connection) behind an async handler, and the
// `naive-*` rows run the ~25-line layer of bench/lib/naive-layer.mjs: the
// floor the issue #15 goals compare hotsession's session cost with.

const STORES = ['memory', 'cookie', 'redis', 'memcached', 'mongo'];
const BACKEND = { redis: 'redis', memcached: 'memcached', mongo: 'mongo' };
const EXPRESS_BASELINE = {
  memory: 'express-session-memory',
  redis: 'express-session-redis',
  memcached: 'express-session-memcached',
  mongo: 'express-session-mongo',
  cookie: 'express-cookie-session',
};

/** The ceiling row of each server file's framework. */
const RAW = {
  'uws-hotsession.mjs': 'raw-uws', 'naive-uws.mjs': 'raw-uws',
  'http-hotsession.mjs': 'raw-http', 'naive-http.mjs': 'raw-http',
  'express-session.mjs': 'raw-express', 'express-cookie-session.mjs': 'raw-express', 'express-hotsession.mjs': 'raw-express',
};

/** Sessions of the `-1k` rows. */
export const MANY_SESSIONS = 1000;

/**
 * @typedef {{ name: string, label: string, server: string, store: string|null, backend: string|null,
 *   variants: string[], baseline: string|null, stack: string, raw: string|null,
 *   sessions: number|null, env: Record<string,string> }} Scenario
 * `sessions` null: one per connection.
 */

/** @returns {Scenario[]} in run order (ceilings first, baselines before what is compared to them). */
export function scenarios() {
  const list = [
    { name: 'raw-http', label: 'node:http hello (no sessions)', server: 'raw-http.mjs', store: null, variants: ['hello'], baseline: null, stack: 'raw' },
    { name: 'raw-uws', label: 'uWS hello (no sessions)', server: 'raw-uws.mjs', store: null, variants: ['hello'], baseline: null, stack: 'raw' },
    { name: 'raw-express', label: 'Express hello (no sessions)', server: 'raw-express.mjs', store: null, variants: ['hello'], baseline: null, stack: 'raw' },
  ];
  for (const store of ['memory', 'redis', 'memcached', 'mongo']) {
    list.push({ name: `express-session-${store}`, label: `express + express-session (${storeLabel(store)})`, server: 'express-session.mjs', store, variants: ['read', 'write'], baseline: null, stack: 'express-session' });
  }
  list.push({ name: 'express-cookie-session', label: 'express + cookie-session', server: 'express-cookie-session.mjs', store: 'cookie', variants: ['read', 'write'], baseline: null, stack: 'express-session' });
  for (const store of STORES) {
    list.push({ name: `uws-${store}`, label: `uWS + hotsession (${store})`, server: 'uws-hotsession.mjs', store, variants: ['read', 'write'], baseline: EXPRESS_BASELINE[store], stack: 'hotsession' });
  }
  for (const store of STORES) {
    list.push({ name: `http-${store}`, label: `node:http + hotsession/http (${store})`, server: 'http-hotsession.mjs', store, variants: ['read', 'write'], baseline: EXPRESS_BASELINE[store], stack: 'hotsession' });
  }
  for (const store of ['memory', 'redis']) {
    list.push({ name: `express-hotsession-${store}`, label: `express + hotsession/express (${store})`, server: 'express-hotsession.mjs', store, variants: ['read', 'write'], baseline: EXPRESS_BASELINE[store], stack: 'hotsession' });
  }
  const many = { sessions: MANY_SESSIONS, env: { HS_ASYNC: '1' } };
  const k = '1,000 sessions, async handler';
  list.push({ name: 'naive-uws-1k', label: `uWS + naive layer (${k})`, server: 'naive-uws.mjs', store: 'naive', variants: ['read', 'write'], baseline: null, stack: 'naive', ...many });
  list.push({ name: 'naive-http-1k', label: `node:http + naive layer (${k})`, server: 'naive-http.mjs', store: 'naive', variants: ['read', 'write'], baseline: null, stack: 'naive', ...many });
  for (const store of ['memory', 'cookie']) {
    list.push({ name: `uws-${store}-1k`, label: `uWS + hotsession (${store}, ${k})`, server: 'uws-hotsession.mjs', store, variants: ['read', 'write'], baseline: EXPRESS_BASELINE[store], stack: 'hotsession', ...many });
    list.push({ name: `http-${store}-1k`, label: `node:http + hotsession/http (${store}, ${k})`, server: 'http-hotsession.mjs', store, variants: ['read', 'write'], baseline: EXPRESS_BASELINE[store], stack: 'hotsession', ...many });
  }
  return list.map((s) => ({
    sessions: null, env: {}, ...s,
    raw: s.stack === 'raw' ? null : RAW[s.server] ?? null,
    backend: s.store === null ? null : BACKEND[s.store] ?? null,
  }));
}

function storeLabel(store) {
  return { memory: 'MemoryStore', redis: 'connect-redis', memcached: 'connect-memcached', mongo: 'connect-mongo' }[store];
}

/** A row's full name, the unit --only matches and the report lists. */
export function rowName(scenario, variant) {
  return variant === 'hello' ? scenario.name : `${scenario.name}:${variant}`;
}

/**
 * Rows selected by `match`: a row runs when its full name or its scenario
 * name matches. Baselines are not added implicitly: `--only` means only.
 */
export function selectRows(match) {
  const rows = [];
  for (const s of scenarios()) {
    for (const v of s.variants) {
      const name = rowName(s, v);
      if (match(name) || match(s.name)) rows.push({ scenario: s, variant: v, name });
    }
  }
  return rows;
}
