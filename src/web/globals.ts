/**
 * The two Node globals the shared modules use, for the browser bundle (esbuild `inject` in
 * scripts/bundle-web.mjs replaces free references to them with these): `Buffer` from the npm
 * `buffer` package (the same API, pure JS over Uint8Array) and `setImmediate` (a macrotask, as
 * Node's: a MessageChannel message runs after pending input and timers, without setTimeout's 4 ms
 * clamp). Node never loads this module.
 */
import { Buffer } from 'buffer';

const channel = new MessageChannel();
const queue: (() => void)[] = [];
// lib.dom's MessagePort (not in this project's type libs) has onmessage; Node's typing lacks it.
(channel.port1 as unknown as { onmessage: () => void }).onmessage = () => { queue.shift()?.(); };

function setImmediate(fn: (...args: unknown[]) => void, ...args: unknown[]): number {
  queue.push(() => fn(...args));
  channel.port2.postMessage(0);
  return 0;
}

/**
 * `process`, for shared modules that are not split from the host yet (test/web/bundle.test.ts
 * PENDING_SEAMS): container/temporaries.ts registers an exit handler when it loads, validation
 * reads `process.env` only when no env is given (the browser pipeline gives one). A page never
 * exits the way a process does, so exit handlers are never called; `cwd` is the root.
 */
const process = { env: {} as Record<string, string | undefined>, cwd: () => '/', on: () => process, once: () => process, pid: 0, platform: 'browser' };

export { Buffer, process, setImmediate };
