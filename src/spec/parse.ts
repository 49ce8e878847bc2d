import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DiskwrightError } from '../errors.js';
import { parseImageSpec } from './schema.js';
import type { ImageSpec } from './types.js';

/**
 * Read a spec file: JSON when it ends in .json, YAML otherwise (YAML 1.2, so `0644` is a decimal
 * number and modes must be quoted strings). Returns the spec, checked against the schema
 * (parseImageSpec: unknown keys, types, enums), and the directory relative paths resolve against.
 *
 * @example
 * const { spec, baseDir } = await loadSpecFile('examples/efi-disk.yaml');
 * await buildImage(spec, { baseDir, output: 'disk.img' });
 */
export async function loadSpecFile(path: string): Promise<{ spec: ImageSpec; baseDir: string }> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new DiskwrightError('E_SPEC_READ', `cannot read spec ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { value: path });
  }
  const baseDir = dirname(resolve(path));
  if (path.endsWith('.json')) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw new DiskwrightError('E_SPEC_SYNTAX', `${path} is not valid JSON: ${(e as Error).message}`, { value: path });
    }
    return { spec: parseImageSpec(value), baseDir };
  }
  // Loaded on demand: the quick forms and the library never parse YAML.
  const { parse: parseYaml, YAMLParseError } = await import('yaml');
  let value: unknown;
  try {
    value = parseYaml(text, { uniqueKeys: true }) ?? {};
  } catch (e) {
    const msg = e instanceof YAMLParseError ? e.message.split('\n')[0] : (e as Error).message;
    throw new DiskwrightError('E_SPEC_SYNTAX', `${path} is not valid YAML: ${msg}`, { value: path });
  }
  return { spec: parseImageSpec(value), baseDir };
}
