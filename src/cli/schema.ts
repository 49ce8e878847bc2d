import type { CAC } from 'cac';

/**
 * `diskwright schema`: print the spec's JSON Schema (the same as the package's
 * schema/diskwright.schema.json), for editors and validators.
 */
export function registerSchema(cli: CAC): void {
  cli
    .command('schema', 'Print the JSON Schema of the spec (schema/diskwright.schema.json)')
    .example('diskwright schema > diskwright.schema.json')
    .action(async () => {
      const { jsonSchema } = await import('../spec/jsonschema.js');
      process.stdout.write(JSON.stringify(await jsonSchema(), null, 2) + '\n');
    });
}
