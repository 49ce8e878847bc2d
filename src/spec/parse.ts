import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DiskwrightError } from '../errors.js';

/**
 * Read a spec file: JSON when it ends in .json, YAML otherwise (YAML 1.2, so `0644` is a decimal
 * number and modes must be quoted strings). Returns the raw object and the directory relative
 * paths resolve against.
 */
export async function loadSpecFile(path: string): Promise<{ spec: unknown; baseDir: string }> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new DiskwrightError('E_SPEC_READ', `cannot read spec ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { value: path });
  }
  const baseDir = dirname(resolve(path));
  if (path.endsWith('.json')) {
    try {
      return { spec: JSON.parse(text), baseDir };
    } catch (e) {
      throw new DiskwrightError('E_SPEC_SYNTAX', `${path} is not valid JSON: ${(e as Error).message}`, { value: path });
    }
  }
  // Loaded on demand: the quick forms and the library never parse YAML.
  const { parse: parseYaml, YAMLParseError } = await import('yaml');
  try {
    return { spec: parseYaml(text, { uniqueKeys: true }) ?? {}, baseDir };
  } catch (e) {
    const msg = e instanceof YAMLParseError ? e.message.split('\n')[0] : (e as Error).message;
    throw new DiskwrightError('E_SPEC_SYNTAX', `${path} is not valid YAML: ${msg}`, { value: path });
  }
}
