import { randomUUID } from 'node:crypto';
import { SharedMemoryStore } from 'hotsession';
import { conformance } from '../helpers/conformance.mjs';
import { startUws } from '../helpers/uws-harness.mjs';

// The shared conformance suite on SharedMemoryStore, through node:http and through uWS.
const makeStore = () => new SharedMemoryStore({ name: `conformance-${randomUUID()}`, maxBytes: 8 * 2 ** 20 });

conformance('SharedMemoryStore over node:http', { makeStore });
conformance('SharedMemoryStore over uWS', { makeStore, harness: startUws });
