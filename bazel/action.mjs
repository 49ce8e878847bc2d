// The action of bazel/defs.bzl's diskwright_image, run by the declared node binary in the action's
// directory (the execroot or its sandbox): `node action.mjs MANIFEST`. The manifest, written by the
// rule, names the spec, the package's CLI, the outputs and one contents entry per declared input
// file. This adds those entries to the spec's partitions (`root`/`boot` of a layout preset, else
// the partition of that name), with absolute sources, writes the result to a private temporary
// file, and runs `diskwright build` on it in this process. Errors are one line and exit 1.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

function die(msg) {
  process.stderr.write(`diskwright_image: ${msg}\n`);
  process.exit(1);
}

const manifestPath = process.argv[2];
if (!manifestPath || process.argv.length !== 3) die('usage: node action.mjs MANIFEST (run by the diskwright_image rule)');
const m = JSON.parse(readFileSync(manifestPath, 'utf8'));
const main = resolve(m.main);

let spec;
try {
  const text = readFileSync(m.spec, 'utf8');
  // YAML through the package's own parser (a production dependency), as the CLI reads it.
  spec = m.spec.endsWith('.json') ? JSON.parse(text) : createRequire(main)('yaml').parse(text);
} catch (e) {
  die(`${m.spec}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
}
if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) die(`${m.spec}: the spec is not a mapping`);

/** The contents list of the partition a manifest entry names. */
function contentsOf(partition) {
  let holder;
  if (spec.layout !== undefined && (partition === 'root' || partition === 'boot')) {
    holder = spec[partition] ??= {};
  } else {
    holder = Array.isArray(spec.partitions) ? spec.partitions.find((p) => p && p.name === partition) : undefined;
    if (!holder) die(`contents: ${m.spec} has no partition named ${JSON.stringify(partition)} (use root or boot with a layout, else a partition's name)`);
  }
  if (holder.contents === undefined) holder.contents = [];
  if (!Array.isArray(holder.contents)) die(`${m.spec}: ${partition}.contents is not a list`);
  return holder.contents;
}

for (const e of m.entries) contentsOf(e.partition).push({ source: resolve(e.source), target: e.target });
// The spec's own relative paths stay relative to where it is.
spec.baseDir = resolve(dirname(m.spec), spec.baseDir ?? '.');

const tmp = mkdtempSync(join(tmpdir(), 'diskwright-action-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
const generated = join(tmp, 'spec.json');
writeFileSync(generated, JSON.stringify(spec));

process.argv = [process.argv[0], main, 'build', generated, '-o', resolve(m.image), '--report', resolve(m.report), '--format', m.format];
await import(pathToFileURL(main).href);
