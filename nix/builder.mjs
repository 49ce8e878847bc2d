// The builder of nix/make-disk-image.nix, run by node inside the derivation (the Nix sandbox: no
// shell, no network, HOME=/homeless-shelter). It writes the spec the Nix function generated to
// spec.json in the build directory, make-disk-image's nix-support/hydra-build-products, then runs
// the diskwright CLI in this process: `diskwright build spec.json -o $out/<file> --report
// $out/report.json`. The CLI sets the exit status; a failed build fails the derivation and Nix
// discards $out whole, so writing the products list first never leaves a list without its image.
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const env = process.env;
const need = (k) => {
  const v = env[k];
  if (!v) { process.stderr.write(`nix/builder.mjs: $${k} is not set (run by nix/make-disk-image.nix)\n`); process.exit(1); }
  return v;
};
const out = need('out');
const image = join(out, need('fileName'));
const report = join(out, 'report.json');
const spec = join(need('NIX_BUILD_TOP'), 'spec.json');
copyFileSync(need('specJsonPath'), spec);

mkdirSync(join(out, 'nix-support'), { recursive: true });
// Hydra's products list: make-disk-image's one line (`file <format>-image <path>`), then the report.
writeFileSync(join(out, 'nix-support/hydra-build-products'), `file ${need('productFormat')}-image ${image}\nfile json ${report}\n`);

// The V8 code cache is an optimisation the launcher keeps in a cache directory; a build has none.
env.DISKWRIGHT_CACHE_DIR = '';
process.argv = [process.argv[0], need('diskwrightMain'), 'build', spec, '-o', image, '--report', report];
await import(pathToFileURL(need('diskwrightMain')).href);
