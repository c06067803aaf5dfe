import { createHash } from 'node:crypto';
import type { Client } from 'memjs';
import { codes, HotsessionError } from '../../errors';
import type { UserIndex } from '../types';
import { casSet, gets, STATUS_EXISTS, STATUS_NOT_FOUND, STATUS_OK } from './cas';
import { memcachedExpiry } from './expiry';

/**
 * The per-user index on memcached: one item per user,
 *
 *   <prefix>u:<base64url sha256(user id)>   JSON { "x": expires at (ms), "e": { handle: entry } }
 *
 * (hashed: memcached keys allow 250 bytes without spaces or control
 * characters, user ids are anything). Every change is a read-modify-write
 * made atomic by CAS: `gets` the item with its CAS, change the map, `set`
 * with that CAS; when another writer changed it in between, memcached refuses
 * (KEY_EXISTS) and the change is redone on what is there now. A missing item
 * is created with `add`, which also fails when someone else created it first.
 * Bounded, jittered retries, then HOTSESSION_ERR_CONFLICT.
 */

/** Read-modify-write rounds before an index change gives up. */
const TRIES = 24;

/** A jittered pause before round `i` (i >= 1): writers racing for one user's item spread out instead of colliding again. */
function backoff(i: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.random() * Math.min(20, 2 ** i)));
}

interface Doc {
  x: number;
  e: Record<string, string>;
}

function parse(value: Buffer | null): Doc | null {
  if (value === null) return null;
  try {
    const d = JSON.parse(value.toString('utf8')) as Partial<Doc>;
    if (typeof d.x !== 'number' || d.e === null || typeof d.e !== 'object') return null;
    return { x: d.x, e: d.e };
  } catch {
    return null;
  }
}

function fetchCas(c: Client, key: string): Promise<{ doc: Doc | null; cas: bigint | null }> {
  return new Promise((resolve, reject) => {
    gets(c, key, (err, status, value, cas) => {
      if (err) return reject(new HotsessionError(codes.STORE, `memcached gets failed: ${err.message}`, { cause: err }));
      if (status === STATUS_NOT_FOUND) return resolve({ doc: null, cas: null });
      if (status !== STATUS_OK) return reject(new HotsessionError(codes.STORE, `memcached gets answered status ${status}`));
      resolve({ doc: parse(value), cas });
    });
  });
}

function storeCas(c: Client, key: string, value: Buffer, exp: number, cas: bigint): Promise<boolean> {
  return new Promise((resolve, reject) => {
    casSet(c, key, value, exp, cas, (err, status) => {
      if (err) return reject(new HotsessionError(codes.STORE, `memcached cas failed: ${err.message}`, { cause: err }));
      if (status === STATUS_OK) return resolve(true);
      if (status === STATUS_EXISTS || status === STATUS_NOT_FOUND) return resolve(false);
      reject(new HotsessionError(codes.STORE, `memcached cas answered status ${status}`));
    });
  });
}

export class MemcachedUserIndex implements UserIndex {
  readonly #client: () => Client;
  readonly #prefix: string;

  constructor(client: () => Client, prefix: string) {
    this.#client = client;
    this.#prefix = prefix;
  }

  key(userId: string): string {
    return `${this.#prefix}u:${createHash('sha256').update(userId).digest('base64url')}`;
  }

  /**
   * Applies `change` to the user's map atomically; `minExpiry` (ms since the
   * epoch) is how long the item must live at least. Answers the entry count.
   */
  async #update(userId: string, change: (e: Record<string, string>) => boolean, minExpiry: number): Promise<number> {
    const key = this.key(userId);
    const c = this.#client();
    for (let i = 0; i < TRIES; i++) {
      if (i > 0) await backoff(i);
      const now = Date.now();
      const { doc, cas } = await fetchCas(c, key);
      const live = doc !== null && doc.x > now ? doc : null;
      const e = live === null ? {} : live.e;
      if (!change(e)) return Object.keys(e).length;
      const x = Math.max(live?.x ?? 0, minExpiry);
      const value = Buffer.from(JSON.stringify({ x, e }));
      const exp = memcachedExpiry(Math.max(1, x - now), now);
      const stored = cas === null ? await c.add(key, value, { expires: exp }) : await storeCas(c, key, value, exp, cas);
      if (stored) return Object.keys(e).length;
    }
    throw new HotsessionError(codes.CONFLICT, `a users index kept changing during ${TRIES} CAS rounds; nothing was written`);
  }

  put(userId: string, handle: string, entry: string, ttlMs: number): Promise<number> {
    return this.#update(userId, (e) => {
      e[handle] = entry;
      return true;
    }, Date.now() + ttlMs);
  }

  async list(userId: string): Promise<Array<[string, string]>> {
    const { doc } = await fetchCas(this.#client(), this.key(userId));
    if (doc === null || doc.x <= Date.now()) return [];
    return Object.entries(doc.e).filter((kv): kv is [string, string] => typeof kv[1] === 'string');
  }

  async remove(userId: string, handle: string, sid?: string): Promise<void> {
    await this.#update(userId, (e) => {
      const v = e[handle];
      if (typeof v !== 'string' || !Object.hasOwn(e, handle) || (sid !== undefined && !v.startsWith(sid + '\n'))) return false;
      delete e[handle];
      return true;
    }, 0);
  }
}
