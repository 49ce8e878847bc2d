#!/usr/bin/env node
// Writes schema/diskwright.schema.json from the spec's Valibot declaration (src/spec/schema.ts,
// compiled to dist/ by `npm run build`, which runs this after tsc). The file is shipped in the
// package and checked in, so editors can reference it by path; test/spec/registry.test.ts fails
// when the checked-in copy differs from the declaration.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const { jsonSchema } = await import(new URL('../dist/spec/jsonschema.js', import.meta.url).href);
mkdirSync(`${root}schema`, { recursive: true });
writeFileSync(`${root}schema/diskwright.schema.json`, JSON.stringify(await jsonSchema(), null, 2) + '\n');
