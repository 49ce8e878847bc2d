import type { CAC } from 'cac';
import { jsonSchema } from '../spec/jsonschema.js';

/**
 * `diskwright schema`: print the spec's JSON Schema (the same as the package's
 * schema/diskwright.schema.json), for editors and validators.
 */
export function registerSchema(cli: CAC): void {
  cli
    .command('schema', 'Print the JSON Schema of the spec (schema/diskwright.schema.json)')
    .example('diskwright schema > diskwright.schema.json')
    .action(async () => {
      process.stdout.write(JSON.stringify(await jsonSchema(), null, 2) + '\n');
    });
}
