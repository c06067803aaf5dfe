/**
 * Hidden per-object state of the express adapter. Symbol keys stay out of
 * `Object.keys`, `for...in` and `JSON.stringify`, so a session object shows
 * exactly its data (and `cookie`) the way express-session's does.
 */

/** Session -> the request it belongs to. */
export const kReq = Symbol('hotsession.express.req');
/** Session -> its id. */
export const kId = Symbol('hotsession.express.id');
/** Session -> the middleware's per-request tracker (set for sessions whose saves it must see). */
export const kTrack = Symbol('hotsession.express.track');
/** Session / decoded record -> creation time (ms) of the stored record. */
export const kCreated = Symbol('hotsession.express.created');
/** Session / decoded record -> what it was loaded as from a per-key record (per-key.ts): what a save diffs against. */
export const kLoaded = Symbol('hotsession.express.loaded');
