// Stands in for uWebSockets.js in test/types/tsconfig.no-uws.json: a module
// with none of uWS's exports, which is what an app without uWS gives the
// adapter's types (they fall back to the structural shapes).
export {};
