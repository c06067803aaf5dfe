import { codec } from '../../codec';
import { DELETE, KIND_PATCH, KIND_RECORD } from '../../codec/layout';
import { RecordWriter, findKey, keyAt, nameTag } from '../../codec/record';
import type { UserIndex } from '../types';
import type { Table } from './table';
import { indexKey } from './users-key';

/*
 * The per-user index of SharedMemoryStore: one record per user in the shared
 * table itself, so every thread sees one index, bounded by the same maxBytes
 * and swept like sessions. The record is a v2 RECORD whose keys are the
 * handles and whose values are the core's entry strings (UTF-8, never
 * decoded by the table). Every change is Table.update: read, change, one
 * CAS, redone on a lost race; a user's first two logins racing each other
 * are merged (see Table.update), so no change acknowledged is lost.
 *
 * Its table key (users-key.ts) starts with a byte no session id holds;
 * the eviction walk keeps such records while they live: revocation reaches
 * a user's sessions through them.
 */

const TAG = nameTag('hotsession.users');
const w = new RecordWriter();

const key = indexKey;

function build(kind: number, handle: string, entry: string | null): Buffer {
  w.begin(kind, 0, 0, 0, TAG);
  if (entry === null) w.delete(handle);
  else w.set(handle, Buffer.from(entry, 'utf8'));
  return w.finish();
}

/** @internal SharedMemoryStore.users. */
export class SharedUserIndex implements UserIndex {
  readonly #table: Table;

  constructor(table: Table) {
    this.#table = table;
  }

  put(userId: string, handle: string, entry: string, ttlMs: number): number {
    const created = build(KIND_RECORD, handle, entry);
    const patch = build(KIND_PATCH, handle, entry);
    const out = this.#table.update(key(userId), (rec) => (rec === null ? created : codec.apply(rec, patch) ?? created), ttlMs, true);
    return out === null ? 0 : codec.scan(out)?.count ?? 0;
  }

  list(userId: string): Array<[string, string]> {
    // getAll reads a duplicate a racing creation left before the entry it
    // merges into, so an entry moving from one to the other is read in one
    // of them; the entry's own version of a handle, read last, wins.
    const seen = new Map<string, string>();
    for (const rec of this.#table.getAll(key(userId))) {
      const v = codec.scan(rec);
      if (v === null || v.kind !== KIND_RECORD) continue;
      for (let i = 0; i < v.count; i++) {
        const at = v.index[4 * i + 2]!;
        const len = v.index[4 * i + 3]!;
        if (len !== DELETE) seen.set(keyAt(rec, v, i), rec.toString('utf8', at, at + len));
      }
    }
    return [...seen];
  }

  remove(userId: string, handle: string, sid?: string): void {
    const patch = build(KIND_PATCH, handle, null);
    const prefix = sid === undefined ? null : Buffer.from(`${sid}\n`, 'utf8');
    this.#table.update(key(userId), (rec) => {
      if (rec === null) return null;
      const v = codec.scan(rec);
      if (v === null || v.kind !== KIND_RECORD) return null;
      const i = findKey(rec, v, handle);
      if (i < 0) return null;
      if (prefix !== null) {
        const at = v.index[4 * i + 2]!;
        if (v.index[4 * i + 3]! < prefix.length || !rec.subarray(at, at + prefix.length).equals(prefix)) return null;
      }
      return codec.apply(rec, patch);
    }, 0, false);
  }
}
