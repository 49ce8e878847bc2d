import type { CAC } from 'cac';
import { registerConvert } from './convert.js';
import { registerInspect } from './inspect.js';
import { registerSchema } from './schema.js';

/**
 * Commands contributed by other modules (convert, inspect, ...). Each registers itself here with
 * one call, so main.ts stays a thin list.
 */
export function registerExtraCommands(cli: CAC): void {
  registerInspect(cli);
  registerConvert(cli);
  registerSchema(cli);
}
