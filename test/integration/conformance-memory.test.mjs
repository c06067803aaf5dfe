import { MemoryStore } from 'hotsession';
import { conformance } from '../helpers/conformance.mjs';

conformance('MemoryStore over node:http', { makeStore: () => new MemoryStore() });
