/**
 * FAT benchmark (issue 5): diskwright's FAT writer against `mkfs.fat` + `mcopy -s` on the same
 * tree, same size and FAT type. Two inputs, made once under /tmp (outside the repo):
 *   esp:   a 256 MiB ESP with a kernel, an initramfs and a few hundred files;
 *   small: ~10,000 small files in 100 directories.
 * Reports the median wall time of 3 runs and the peak RSS (GNU time) of each side, and the ratio.
 *
 *   node --import tsx bench/fat.bench.ts            # prints a markdown table for BENCHMARKS.md
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { prng } from '../test/helpers/prng.js';
import { compiledCli } from './compiled-cli.js';

const ROOT = process.env.DISKWRIGHT_BENCH_DIR ?? '/tmp/diskwright-bench-fat';
const REPO = fileURLToPath(new URL('..', import.meta.url));
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

/** Deterministic pseudo-random bytes (incompressible, like kernels and initramfs images). */
const bytes = (seed: string, n: number): Buffer => prng(seed).bytes(n);

function makeEsp(dir: string): void {
  const payload = join(process.env.DISKWRIGHT_BOOT_CACHE ?? '/tmp/diskwright-boot', 'payload');
  mkdirSync(join(dir, 'EFI/BOOT'), { recursive: true });
  mkdirSync(join(dir, 'loader/entries'), { recursive: true });
  if (existsSync(join(payload, 'vmlinuz'))) {
    copyFileSync(join(payload, 'vmlinuz'), join(dir, 'vmlinuz'));
    copyFileSync(join(payload, 'initrd.img'), join(dir, 'initrd.img'));
    copyFileSync(join(payload, 'efi/systemd-bootx64.efi'), join(dir, 'EFI/BOOT/BOOTX64.EFI'));
  } else {
    writeFileSync(join(dir, 'vmlinuz'), bytes('vmlinuz', 8 << 20));
    writeFileSync(join(dir, 'initrd.img'), bytes('initrd', 32 << 20));
    writeFileSync(join(dir, 'EFI/BOOT/BOOTX64.EFI'), bytes('bootx64', 100 << 10));
  }
  // A second kernel generation and a bigger initrd, as a NixOS ESP holds.
  writeFileSync(join(dir, 'EFI/nixos-kernel-2.efi'), bytes('k2', 12 << 20));
  writeFileSync(join(dir, 'EFI/nixos-initrd-2.efi'), bytes('i2', 40 << 20));
  writeFileSync(join(dir, 'loader/loader.conf'), 'timeout 3\ndefault nixos-generation-2.conf\n');
  for (let i = 0; i < 300; i++) {
    const sub = join(dir, 'EFI', `vendor-${i % 12}`, `Firmware Update ${i % 5}`);
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, `Component_${i}.bin`), bytes(`f${i}`, 1024 + ((i * 7919) % 65536)));
    if (i % 10 === 0) writeFileSync(join(dir, 'loader/entries', `nixos-generation-${i}.conf`), `title NixOS ${i}\nlinux /vmlinuz\n`);
  }
}

function makeSmall(dir: string): void {
  for (let d = 0; d < 100; d++) {
    const sub = join(dir, `dir-${d}`);
    mkdirSync(sub, { recursive: true });
    for (let f = 0; f < 100; f++) writeFileSync(join(sub, `small file number ${f}.txt`), bytes(`s${d}.${f}`, 200 + ((d * 100 + f) * 37) % 4000));
  }
}

function prepare(name: string, make: (dir: string) => void): string {
  const dir = join(ROOT, 'in', name);
  const done = join(ROOT, 'in', `${name}.complete`);
  if (!existsSync(done)) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    make(dir);
    writeFileSync(done, '');
  }
  return dir;
}

interface Measure { wall: number; rssKiB: number }

/** Run a shell command under GNU time; wall seconds and peak RSS of the largest process. */
function timed(cmd: string): Measure {
  const out = join(ROOT, 'time.txt');
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', '-o', out, 'bash', '-c', cmd], {
    encoding: 'utf8', env: { ...process.env, MTOOLS_SKIP_CHECK: '1', TZ: 'UTC' }, cwd: REPO,
  });
  if (r.status !== 0) throw new Error(`${cmd} failed:\n${r.stdout}\n${r.stderr}`);
  const [wall, rss] = spawnSync('tail', ['-n1', out], { encoding: 'utf8' }).stdout.trim().split(/\s+/).map(Number);
  return { wall: wall!, rssKiB: rss! };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}


function bench(name: string, slug: string, dir: string, sizeBytes: number | 'auto', fatBits: number | undefined) {
  const ours = join(ROOT, `${slug}-dw.img`);
  const ref = join(ROOT, `${slug}-mkfs.img`);
  const fatFlag = fatBits ? `--fat ${fatBits}` : '';
  const cmd = (sizeFlag: string): string => `rm -f ${ours} && ${cli} fat ${dir} -o ${ours} --label BENCH ${sizeFlag} ${fatFlag} >/dev/null`;
  let size = sizeBytes;
  if (size === 'auto') {
    // Our exact auto size leaves mkfs.fat (other layout choices) no slack: give both sides 10 % more.
    timed(cmd(''));
    size = Math.ceil((statSync(ours).size * 1.1) / 2 ** 20) * 2 ** 20;
  }
  const oursCmd = cmd(`--size ${size}`);
  const refCmd = `rm -f ${ref} && mkfs.fat -C ${ref} ${size / 1024} -n BENCH ${fatBits ? `-F ${fatBits}` : ''} >/dev/null && ` +
    `mcopy -s -m -i ${ref} ${dir}/* ::/`;
  const o: Measure[] = [], m: Measure[] = [];
  for (let i = 0; i < RUNS; i++) {
    spawnSync('sync');
    m.push(timed(refCmd));
    spawnSync('sync');
    o.push(timed(oursCmd));
  }
  const fsck = spawnSync('fsck.fat', ['-n', ours], { encoding: 'utf8' });
  if (fsck.status !== 0) throw new Error(`fsck.fat on ${ours}:\n${fsck.stdout}`);
  const ow = median(o.map((x) => x.wall)), mw = median(m.map((x) => x.wall));
  const orss = Math.max(...o.map((x) => x.rssKiB)), mrss = Math.max(...m.map((x) => x.rssKiB));
  return { name, size, ow, mw, orss, mrss };
}

mkdirSync(ROOT, { recursive: true });
const cli = compiledCli(ROOT);
const esp = prepare('esp', makeEsp);
const small = prepare('small', makeSmall);
const rows = [
  bench('ESP 256 MiB (kernel, initrd, 300 files)', 'esp', esp, 256 << 20, undefined),
  bench('ESP 256 MiB, FAT32 forced', 'esp32', esp, 256 << 20, 32),
  bench('10,000 small files (auto + 10 %)', 'small', small, 'auto', undefined),
];
const host = `${spawnSync('nproc', { encoding: 'utf8' }).stdout.trim()} cores, Node ${process.version}`;
console.log(`| input | image | diskwright (s) | mkfs.fat + mcopy -s (s) | ratio | peak RSS diskwright | peak RSS mkfs.fat/mcopy |`);
console.log(`|---|---|---|---|---|---|---|`);
for (const r of rows) {
  console.log(`| ${r.name} | ${(r.size / 2 ** 20).toFixed(1)} MiB | ${r.ow.toFixed(2)} | ${r.mw.toFixed(2)} | ${(r.ow / r.mw).toFixed(2)}× | ${(r.orss / 1024).toFixed(0)} MiB | ${(r.mrss / 1024).toFixed(0)} MiB |`);
}
console.log(`\nmedian of ${RUNS} runs, ${host}; inputs under ${ROOT}`);
