// Compiled against the installed uWebSockets.js (tsconfig.uws.json): the
// structural shapes must accept the real uWS objects, so that the adapter's
// declarations are right for an app without uWS too, and with uWS the public
// names must be uWS's own types.
import type * as uWS from 'uWebSockets.js';
import type {
  HttpRequest, HttpRequestShape, HttpResponse, HttpResponseShape, RecognizedString, RecognizedStringShape, SocketContextShape, UwsRoute,
  us_socket_context_t,
} from '../../src/adapters/uws/types';

declare const res: uWS.HttpResponse;
declare const req: uWS.HttpRequest;
declare const context: uWS.us_socket_context_t;
declare const text: uWS.RecognizedString;

// Real uWS objects fit the shapes.
const shapes: [HttpResponseShape, HttpRequestShape, SocketContextShape, RecognizedStringShape] = [res, req, context, text];

// With uWS installed, the public names are exactly uWS's types, both ways.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const same: [Same<HttpResponse, uWS.HttpResponse>, Same<HttpRequest, uWS.HttpRequest>, Same<us_socket_context_t, uWS.us_socket_context_t>, Same<RecognizedString, uWS.RecognizedString>] =
  [true, true, true, true];

// A wrapped route mounts on a uWS app and as a WebSocket upgrade handler.
declare const app: uWS.TemplatedApp;
declare const route: UwsRoute;
app.get('/', route);
app.ws('/ws', { upgrade: route });

void [shapes, same];
