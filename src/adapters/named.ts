import { SessionManager } from '../core/manager';
import type { SessionOptions } from '../core/options';
import { codes, HotsessionError } from '../errors';
import type { AnyStore } from '../stores/types';

// The named sessions of one middleware or route, checked the same way by the
// node:http and uWS adapters.

/** One named session and the store behind it. */
export interface NamedStore {
  name: string;
  store: AnyStore;
}

/** `sessionsMany(names, store)`'s entries: one per name, all in `store`. */
export function entriesOf(names: readonly string[], store: AnyStore): NamedStore[] {
  if (!Array.isArray(names)) throw new HotsessionError(codes.OPTIONS, 'names must be an array of cookie names');
  return names.map((name) => ({ name, store }));
}

/** One manager per entry; at least one entry, names distinct. */
export function managersOf(entries: readonly NamedStore[], options: SessionOptions): SessionManager[] {
  if (!Array.isArray(entries) || entries.length === 0) throw new HotsessionError(codes.OPTIONS, 'at least one { name, store } is required');
  const managers = entries.map((e) => new SessionManager(e.name, e.store, options));
  if (new Set(managers.map((m) => m.name)).size !== managers.length) throw new HotsessionError(codes.OPTIONS, 'session names must be distinct');
  return managers;
}
