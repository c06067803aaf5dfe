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
/**
 * Session -> its data serialized without `cookie`, valid only during the
 * synchronous call of an end-of-request save: lets a hotsession-backed store
 * reuse the string the middleware already built for its change detection.
 */
export const kJson = Symbol('hotsession.express.json');
/** Session / decoded record -> creation time (ms) of the stored record. */
export const kCreated = Symbol('hotsession.express.created');
/** Session / decoded record -> what it was loaded as from a per-key record (per-key.ts): what a save diffs against. */
export const kLoaded = Symbol('hotsession.express.loaded');
