// Entry of the connection thread when the gateway runs from its TypeScript source (tests, tsx):
// on Node 20 a worker does not inherit the loader hooks of the thread that started it.
import { register } from 'tsx/esm/api';

register();
await import('./thread.ts');
