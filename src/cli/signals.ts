import { constants } from 'node:os';
import { devicesPartlyWritten, removeTemporaryOutputs } from '../container/temporaries.js';

/**
 * SIGINT, SIGTERM and SIGHUP end the CLI at once: the abort signal stops the library's loops, the
 * temporaries (output temp file, scratch files, directories created for the output) are removed,
 * and the exit status is 128 + the signal number (130, 143, 129). main.ts imports this module
 * first, so the handlers are in place before anything else loads. The library's long loops yield
 * to the event loop (container/sink.ts pace), so the handler runs within a fraction of a second.
 */
const controller = new AbortController();
export const interruptSignal: AbortSignal = controller.signal;

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(sig, () => {
    controller.abort(new Error(`interrupted (${sig})`));
    removeTemporaryOutputs();
    // A block device is written in place: nothing to remove, and the user must know it is partial.
    const devices = devicesPartlyWritten();
    const what = devices.length ? `${devices.join(', ')} holds a partly written image` : 'no output written';
    try { process.stderr.write(`diskwright: interrupted (${sig}); ${what}\n`); } catch { /* stderr gone */ }
    process.exit(128 + constants.signals[sig]);
  });
}

// A run that ends by itself ends through process.exit, not by draining the event loop: after a
// natural end Node's teardown closes the signal handles, which restores the default action, so a
// signal arriving in those last milliseconds (the image already complete and renamed) killed the
// process by the signal itself (wait status "signalled", no message) instead of either finishing
// or exiting 128+n. Exiting explicitly keeps the handlers in place to the end: a signal that comes
// after the last JavaScript ran is caught and dropped, and the status says the build completed.
process.once('beforeExit', (code) => process.exit(code));
