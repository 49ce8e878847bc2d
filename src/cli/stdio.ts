/** What main.ts passes for a lone "-" argument (cac would drop it). */
export const STDIO_TOKEN = '\u0000stdio';

/** A path argument, with "-" (standard input or output) restored. */
export function stdio(arg: string): string {
  return arg === STDIO_TOKEN ? '-' : arg;
}
