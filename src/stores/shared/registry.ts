import { getEnvironmentData, isMainThread, setEnvironmentData } from 'node:worker_threads';

/*
 * How a thread finds a table by name. A SharedArrayBuffer can reach another
 * thread only by being cloned into it, and the one synchronous channel Node
 * offers is the environment data a thread hands to the workers it spawns
 * (worker_threads.setEnvironmentData, inherited down the tree). So the thread
 * that creates a table must be an ancestor of every thread that uses it and
 * must create it before spawning them: in practice, the main thread at
 * startup. A native registry could hand out the same memory to any thread
 * (checked: napi_create_external_arraybuffer works on Node 20 and Atomics
 * work on such a buffer), but the JS fallback could not follow, and one rule
 * for both is worth more than a looser rule that breaks without the addon.
 */

function key(name: string): string {
  return `hotsession:shared-memory:${name}`;
}

/** The table named `name` this thread can see, or null. */
export function findTable(name: string): SharedArrayBuffer | null {
  const v = getEnvironmentData(key(name));
  return v instanceof SharedArrayBuffer ? v : null;
}

/** Whether this thread may create a table nobody handed it. */
export function mayCreate(): boolean {
  return isMainThread;
}

/** Hands `sab` to every worker this thread spawns from now on (and to theirs). */
export function publishTable(name: string, sab: SharedArrayBuffer): void {
  setEnvironmentData(key(name), sab);
}

/** Stops handing the table to new workers (threads that have it keep it). */
export function unpublishTable(name: string, sab: SharedArrayBuffer): void {
  if (findTable(name) === sab) setEnvironmentData(key(name), undefined);
}
