import type { Progress } from '../build.js';

/**
 * A one-line progress bar on stderr, drawn only when stderr is a terminal (never in pipes or CI
 * logs). The library reports data; this is the only place that draws it.
 */
export function progressBar(enabled: boolean): { update: (p: Progress) => void; done: () => void } {
  if (!enabled || !process.stderr.isTTY) return { update: () => {}, done: () => {} };
  let last = 0;
  let drawn = false;
  return {
    update(p) {
      const now = Date.now();
      if (now - last < 100 && p.done < p.total) return;
      last = now;
      const frac = p.total > 0 ? Math.min(1, p.done / p.total) : 0;
      const width = 30;
      const fill = Math.round(frac * width);
      const mib = (n: number): string => (n / 1048576).toFixed(0);
      const detail = p.phase === 'write' ? ` ${mib(p.done)}/${mib(p.total)} MiB` : '';
      process.stderr.write(`\r${p.phase.padEnd(5)} [${'#'.repeat(fill)}${'-'.repeat(width - fill)}] ${(frac * 100).toFixed(0).padStart(3)}%${detail}\x1b[K`);
      drawn = true;
    },
    done() {
      if (drawn) process.stderr.write('\r\x1b[K');
    },
  };
}
