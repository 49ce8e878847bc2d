/**
 * The published JSON Schema of the spec (`schema/diskwright.schema.json`, written by
 * `npm run build`; `diskwright schema` prints it): the Valibot declaration of `schema.ts` converted
 * by @valibot/to-json-schema (loaded on first use), draft-07, with a content entry and a
 * partition as shared definitions.
 *
 * @example
 * writeFileSync('schema/diskwright.schema.json', JSON.stringify(await jsonSchema(), null, 2) + '\n');
 */
import { ContentEntrySchema, ImageSpecSchema, ContentListSchema, PartitionSchema, PresetPartitionSchema } from './schema.js';

/** The spec's JSON Schema, a fresh object each call. */
export async function jsonSchema(): Promise<Record<string, unknown>> {
  const { toJsonSchema } = await import('@valibot/to-json-schema');
  const schema = toJsonSchema(ImageSpecSchema, {
    errorMode: 'throw',
    // An object schema is a pipe (a check that refuses lists, then the object): its last schema says it all.
    typeMode: 'output',
    definitions: { ContentEntry: ContentEntrySchema, ContentList: ContentListSchema, Partition: PartitionSchema, PresetPartition: PresetPartitionSchema },
  }) as Record<string, unknown>;
  const { $schema, ...rest } = schema;
  return { $schema, $id: 'diskwright.schema.json', title: 'diskwright image spec', ...rest };
}
