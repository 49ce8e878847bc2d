/**
 * One declaration per format (issue 8): the lists of container formats, compressions, filesystems
 * and partition tables are taken from the registries, and the CLI's --help, the published JSON
 * Schema and the spec's validation must agree with them. The JSON Schema, judged by ajv, accepts
 * every example spec and refuses every structurally wrong must-fail spec at the same path as our
 * own validation. `require('diskwright')` and `import('diskwright')` both load the package.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Ajv, type ErrorObject } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { compressors } from '../../src/container/compress.js';
import { containerFormats } from '../../src/container/registry.js';
import { DiskwrightError } from '../../src/errors.js';
import { filesystems, unavailableFilesystems } from '../../src/fs/registry.js';
import { jsonSchema } from '../../src/spec/jsonschema.js';
import { parseImageSpec } from '../../src/spec/schema.js';
import { resolveSpec } from '../../src/spec/validate.js';
import { tableSchemes } from '../../src/table/schemes.js';
import { cli, ROOT } from '../helpers/disk.js';
import { run } from '../helpers/tools.js';

const formats = containerFormats.map((f) => f.name as string);
const formatAliases = containerFormats.flatMap((f): readonly string[] => f.aliases);
const compressions = ['none', ...compressors.map((c) => c.name as string)];
const fsNames = filesystems.map((h) => h.name as string);
const fsAliases = filesystems.flatMap((h): readonly string[] => h.aliases);
const tables = tableSchemes.map((s) => s.name as string);

const published = JSON.parse(readFileSync(join(ROOT, 'schema/diskwright.schema.json'), 'utf8')) as Record<string, unknown>;
type Node = { enum?: unknown[]; properties?: Record<string, Node>; items?: Node; $ref?: string; default?: unknown };
const defs = (published.$defs ?? {}) as Record<string, Node>;
const deref = (n: Node): Node => (n.$ref ? defs[n.$ref.replace('#/$defs/', '')]! : n);
const top = (published as Node).properties!;
const partition = deref(top.partitions!.items!).properties!;

const codeOf = (f: () => unknown): string => {
  try { f(); } catch (e) { return e instanceof DiskwrightError ? `${e.code} ${e.path}` : String(e); }
  return 'ok';
};

test('the registries are not empty and name each thing once', () => {
  for (const list of [formats, formatAliases, compressions, fsNames, fsAliases, tables]) assert.equal(new Set(list).size, list.length, list.join(','));
  assert.ok(formats.length >= 7 && compressions.length >= 5 && fsNames.length >= 2 && tables.length >= 4);
  // A format's name and suffix are declared once, on its registry line (its writer carries neither).
  for (const f of containerFormats) assert.match(f.suffix, /^\.[a-z0-9]+$/, `${f.name}: its suffix`);
});

test('the checked-in JSON Schema is the one the declaration gives (npm run build writes it)', async () => {
  assert.deepEqual(published, await jsonSchema());
  assert.equal(cli(['schema']).stdout, JSON.stringify(published, null, 2) + '\n');
});

test('the JSON Schema\'s enums are the registries\'', () => {
  assert.deepEqual(top.format!.enum, [...formats, ...formatAliases]);
  assert.equal(top.format!.default, formats[0]);
  assert.deepEqual(top.compression!.enum, compressions);
  assert.deepEqual(top.table!.enum, tables);
  assert.deepEqual(partition.filesystem!.enum, [...fsNames, ...fsAliases, ...unavailableFilesystems, 'image', 'none']);
  for (const h of filesystems) assert.ok(partition[h.optionsKey], `the ${h.optionsKey}: block of ${h.name}`);
  for (const f of containerFormats) for (const key of Object.keys(f.options?.entries ?? {})) assert.ok(top[key], `${f.name}'s option ${key}`);
  // ext4's inode size: what the writer stores, and nothing else.
  assert.deepEqual(deref(partition.ext4!).properties!.inodeSize!.enum, [256]);
});

test('--help lists every format, alias and compression the registries hold', () => {
  for (const command of ['build', 'convert', 'ext4', 'fat']) {
    const help = cli([command, '--help']).stdout;
    const line = (flag: string): string => help.split('\n').find((l) => l.includes(flag)) ?? '';
    for (const name of [...formats, ...formatAliases]) assert.match(line('--format'), new RegExp(`\\b${name}\\b`), `${command} --help --format: ${name}`);
    for (const name of compressions) assert.match(line('--compression'), new RegExp(`\\b${name}\\b`), `${command} --help --compression: ${name}`);
  }
  assert.match(cli(['--help']).stdout, /\bschema\b/);
});

test('validation accepts exactly the registries\' names, aliases resolved', () => {
  const base = { baseDir: ROOT, env: {}, checkFiles: false };
  for (const name of [...formats, ...formatAliases]) {
    const spec = resolveSpec({ format: name, partitions: [{ size: '1MiB' }] }, base);
    assert.equal(spec.format, containerFormats.find((f) => f.name === name || (f.aliases as readonly string[]).includes(name))!.name);
  }
  for (const name of compressions) assert.equal(resolveSpec({ compression: name, partitions: [{ size: '1MiB' }] }, base).compression, name);
  for (const name of tables) assert.equal(codeOf(() => resolveSpec({ table: name, partitions: [{ size: '1MiB', type: 'linux' }] }, base)), 'ok', name);
  for (const name of [...fsNames, ...fsAliases]) {
    const p = resolveSpec({ table: 'none', partitions: [{ filesystem: name }] }, base).partitions[0]!;
    assert.equal(p.filesystem, filesystems.find((h) => h.name === name || (h.aliases as readonly string[]).includes(name))!.name);
  }
  for (const name of unavailableFilesystems) assert.equal(codeOf(() => resolveSpec({ partitions: [{ filesystem: name }] }, base)), 'E_FS_UNAVAILABLE partitions[0].filesystem');
  assert.equal(codeOf(() => parseImageSpec({ format: 'qcow3' })), 'E_ENUM format');
  assert.equal(codeOf(() => parseImageSpec({ compression: 'lzma' })), 'E_ENUM compression');
  assert.equal(codeOf(() => parseImageSpec({ table: 'apm' })), 'E_ENUM table');
  assert.equal(codeOf(() => parseImageSpec({ partitions: [{ filesystem: 'btrfs' }] })), 'E_ENUM partitions[0].filesystem');
  // A compression level outside the compressor's range is refused before planning.
  for (const c of compressors) {
    assert.equal(codeOf(() => resolveSpec({ compression: c.name, compressionLevel: c.levels[1] + 1, partitions: [{ size: '1MiB' }] }, base)), 'E_COMPRESSION_LEVEL compressionLevel');
    assert.equal(resolveSpec({ compression: c.name, partitions: [{ size: '1MiB' }] }, base).compressionLevel, c.defaultLevel);
  }
  assert.equal(codeOf(() => parseImageSpec({ partitions: [{ ext4: { inodeSize: 128 } }] })), 'E_ENUM partitions[0].ext4.inodeSize');
});

// ajv's instancePath (`/partitions/0`) and additionalProperty in our dotted form (`partitions[0].sise`).
function ajvPath(e: ErrorObject, value: unknown): string {
  let out = '';
  let cur = value;
  for (const key of e.instancePath.split('/').slice(1)) {
    out += Array.isArray(cur) ? `[${key}]` : out ? `.${key}` : key;
    cur = (cur as Record<string, unknown>)[key];
  }
  if (e.keyword === 'additionalProperties') out += `${out ? '.' : ''}${(e.params as { additionalProperty: string }).additionalProperty}`;
  return out || '(spec)';
}

const ajv = new Ajv({ allErrors: true, strict: true });
const validate = ajv.compile(published);

test('ajv: every example spec is valid against the published JSON Schema', () => {
  const examples = readdirSync(join(ROOT, 'examples')).filter((f) => /\.(ya?ml|json)$/.test(f));
  assert.ok(examples.length >= 3);
  for (const f of examples) {
    const text = readFileSync(join(ROOT, 'examples', f), 'utf8');
    if (f.endsWith('.json')) assert.ok(JSON.parse(text).$schema, `${f} names its $schema`);
    else assert.match(text.split('\n')[0]!, /^# yaml-language-server: \$schema=\.\.\/schema\/diskwright\.schema\.json$/, f);
    const spec: unknown = f.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
    assert.ok(validate(spec), `${f}: ${ajv.errorsText(validate.errors)}`);
    assert.doesNotThrow(() => parseImageSpec(spec), f);
  }
});

test('ajv and our validation agree on the must-fail specs: structurally wrong ones fail both, at the same path', () => {
  const dir = join(ROOT, 'test/specs/must-fail');
  let structural = 0;
  for (const f of readdirSync(dir).filter((x) => /\.(ya?ml|json)$/.test(x)).sort()) {
    let spec: unknown;
    try { spec = parseYaml(readFileSync(join(dir, f), 'utf8'), { uniqueKeys: true }); } catch { continue; } // E_SPEC_SYNTAX
    let ours: DiskwrightError | undefined;
    try { parseImageSpec(spec); } catch (e) { ours = e as DiskwrightError; }
    const valid = validate(spec);
    if (!ours) { assert.ok(valid, `${f}: ajv refuses what our schema check accepts: ${ajv.errorsText(validate.errors)}`); continue; }
    structural++;
    assert.ok(!valid, `${f}: ajv accepts what we refuse (${ours.code} ${ours.path})`);
    const paths = validate.errors!.map((e) => ajvPath(e, spec));
    assert.ok(paths.includes(ours.path!), `${f}: ours ${ours.code} ${ours.path}, ajv ${paths.join(', ')}`);
  }
  assert.ok(structural >= 8, `structurally wrong must-fail specs: ${structural}`);
});

test('require(\'diskwright\') and import(\'diskwright\') load the package on Node 20, with no native addon at load', { skip: !existsSync(join(ROOT, 'dist/index.js')) && 'dist/ is not built (npm run build)' }, () => {
  const script = `
    const loaded = [];
    const dlopen = process.dlopen;
    process.dlopen = (m, f, ...r) => { loaded.push(f); return dlopen.call(process, m, f, ...r); };
    const m = require('diskwright');
    if (typeof m.buildImage !== 'function' || typeof m.parseImageSpec !== 'function') throw new Error('exports missing');
    import('diskwright').then((e) => {
      if (e.buildImage !== m.buildImage) throw new Error('import and require give different modules');
      if (loaded.length) throw new Error('native addons loaded at require: ' + loaded.join(', '));
      console.log('ok');
    });`;
  const r = run(process.execPath, ['-e', script], { cwd: ROOT });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'ok', r.stderr);
});
