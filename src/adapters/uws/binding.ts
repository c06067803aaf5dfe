import type { SessionManager } from '../../core/manager';
import { stateOf, type Session } from '../../core/session';
import { codes, HotsessionError } from '../../errors';
import type { MaybePromise } from '../../stores/types';
import type { Binding, SessionGetter } from './types';

const NONE: readonly string[] = [];

function cookieName(setCookie: string): string {
  return setCookie.slice(0, setCookie.indexOf('='));
}

/** Keeps the last Set-Cookie value of each cookie name (browsers would too, but only bytes we need go out). */
function lastPerName(list: readonly string[]): readonly string[] {
  if (list.length < 2) return list;
  const out: string[] = [];
  for (let i = 0; i < list.length; i++) {
    const name = cookieName(list[i]!);
    let later = false;
    for (let j = i + 1; j < list.length && !later; j++) later = cookieName(list[j]!) === name;
    if (!later) out.push(list[i]!);
  }
  return out;
}

function join(a: readonly string[], b: readonly string[]): readonly string[] {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  return lastPerName([...a, ...b]);
}

/**
 * Commits one session: the Set-Cookie values of earlier explicit `save()`s
 * plus this commit's, once the store acknowledged. Synchronous when the
 * store is (and then allocates nothing for an unchanged session).
 */
export function commitOne(m: SessionManager, s: Session<any>): MaybePromise<readonly string[]> {
  const pending = stateOf(s).hasPending ? m.takePending(s) : null;
  const out = m.commit(s);
  if (pending === null) return out;
  if (out instanceof Promise) return out.then((h) => join(pending, h));
  return join(pending, out);
}

/** Commits several sessions; Set-Cookie values in session order. */
export function commitAll(managers: readonly SessionManager[], list: readonly Session<any>[]): MaybePromise<readonly string[]> {
  let headers: readonly string[] = NONE;
  let waits: MaybePromise<readonly string[]>[] | null = null;
  for (let i = 0; i < list.length; i++) {
    const c = commitOne(managers[i]!, list[i]!);
    if (waits !== null) waits.push(c);
    else if (c instanceof Promise) waits = [headers, c];
    else headers = join(headers, c);
  }
  if (waits === null) return headers;
  return Promise.all(waits).then((parts) => parts.reduce(join, NONE));
}

/** One session: the handler gets the Session itself. */
export class SingleBinding implements Binding<Session<any>> {
  readonly #m: SessionManager;
  constructor(m: SessionManager) {
    this.#m = m;
  }
  load(cookieHeader: string): MaybePromise<Session<any>> {
    return this.#m.load(cookieHeader);
  }
  arg(s: Session<any>): Session<any> {
    return s;
  }
  commit(s: Session<any>): MaybePromise<readonly string[]> {
    return commitOne(this.#m, s);
  }
}

/** Several named sessions: the handler gets a getter. */
export class ManyBinding implements Binding<Session<any>[]> {
  readonly #managers: readonly SessionManager[];
  readonly #names: readonly string[];
  constructor(managers: readonly SessionManager[]) {
    this.#managers = managers;
    this.#names = managers.map((m) => m.name);
  }
  load(cookieHeader: string): MaybePromise<Session<any>[]> {
    const managers = this.#managers;
    const out: MaybePromise<Session<any>>[] = new Array(managers.length);
    let wait = false;
    for (let i = 0; i < managers.length; i++) {
      const s = managers[i]!.load(cookieHeader);
      if (s instanceof Promise) wait = true;
      out[i] = s;
    }
    return wait ? Promise.all(out) : (out as Session<any>[]);
  }
  arg(list: Session<any>[]): SessionGetter {
    const names = this.#names;
    return ((name: string) => {
      const i = names.indexOf(name);
      if (i === -1) throw new HotsessionError(codes.OPTIONS, `no session named ${JSON.stringify(name)} on this route`);
      return list[i]!;
    }) as SessionGetter;
  }
  commit(list: Session<any>[]): MaybePromise<readonly string[]> {
    return commitAll(this.#managers, list);
  }
}
