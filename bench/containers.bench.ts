/**
 * Containers and compression benchmark (issue 4). Inputs are made once under /tmp (outside the repo):
 *   disk:  a 2 GiB GPT disk: 64 MiB FAT ESP (40 MiB of kernel-like random data) and a 1 GiB ext4
 *          root made by mke2fs -d from /usr/bin (~300 MB of binaries); the rest is empty;
 *   small: a 512 MiB disk of the same shape with ~60 MB of data, for the whole-file compressors;
 *   empty200 / empty20G: the same small partitions on a 200 MiB and on a 20 GiB disk (peak memory).
 * Partitions are `filesystem: image` (prebuilt by mke2fs/mkfs.fat), so what is measured is the
 * container/compression stage. diskwright runs as the compiled CLI; the reference tools are
 * qemu-img convert (from our raw build) and the zstd/xz/gzip/bzip2 CLIs (on our raw build).
 * Wall and CPU (user + sys) time are medians of BENCH_RUNS (default 5) runs (xz, bzip2: 1 run);
 * peak RSS from GNU time. The host is shared: wall times move with its load, CPU times much less.
 *
 *   node --import tsx bench/containers.bench.ts     # prints markdown tables for BENCHMARKS.md
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { prng } from '../test/helpers/prng.js';
import { compiledCli } from './compiled-cli.js';

const ROOT = process.env.DISKWRIGHT_BENCH_DIR ?? '/tmp/diskwright-bench-containers';
const REPO = fileURLToPath(new URL('..', import.meta.url));
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
mkdirSync(ROOT, { recursive: true });

function sh(cmd: string): string {
  const r = spawnSync('bash', ['-c', cmd], { encoding: 'utf8', cwd: REPO, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Deterministic pseudo-random bytes (incompressible, like kernels). */
const bytes = (seed: string, n: number): Buffer => prng(seed).bytes(n);

interface Measure { wall: number; cpu: number; rssKiB: number }
function timed(cmd: string): Measure {
  const out = join(ROOT, 'time.txt');
  spawnSync('sync');
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', '-o', out, 'bash', '-c', cmd], { encoding: 'utf8', cwd: REPO });
  if (r.status !== 0) throw new Error(`${cmd} failed:\n${r.stdout}\n${r.stderr}`);
  const [wall, user, sys, rss] = spawnSync('tail', ['-n1', out], { encoding: 'utf8' }).stdout.trim().split(/\s+/).map(Number);
  return { wall: wall!, cpu: user! + sys!, rssKiB: rss! };
}
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}
function measure(cmd: string, runs = RUNS): Measure {
  const ms: Measure[] = [];
  for (let i = 0; i < runs; i++) ms.push(timed(cmd));
  return { wall: median(ms.map((m) => m.wall)), cpu: median(ms.map((m) => m.cpu)), rssKiB: Math.max(...ms.map((m) => m.rssKiB)) };
}


/** Prebuilt partitions: an ESP with `espData` bytes of random data, an ext4 root of `rootDir`. */
function partitions(slug: string, rootDir: string, rootSize: string, espData: number): { esp: string; root: string } {
  const esp = join(ROOT, `${slug}.esp.fat`);
  const root = join(ROOT, `${slug}.root.ext4`);
  if (!existsSync(root)) {
    const espDir = join(ROOT, `${slug}-esp`);
    mkdirSync(join(espDir, 'EFI/BOOT'), { recursive: true });
    writeFileSync(join(espDir, 'EFI/BOOT/BOOTX64.EFI'), bytes('efi', 200_000));
    writeFileSync(join(espDir, 'vmlinuz'), bytes(`kernel-${slug}`, espData));
    sh(`mkfs.fat -C -F 32 -i 12345678 ${esp} ${64 * 1024} >/dev/null && MTOOLS_SKIP_CHECK=1 mcopy -s -i ${esp} ${espDir}/* ::/`);
    sh(`mke2fs -q -F -t ext4 -d ${rootDir} -E root_owner=0:0 -U 2d6d5c1e-6a4f-4f5e-9d1a-0c1f6b6c1a01 ${root} ${rootSize}`);
  }
  return { esp, root };
}

function spec(slug: string, size: string, p: { esp: string; root: string }): string {
  const path = join(ROOT, `${slug}.json`);
  writeFileSync(path, JSON.stringify({
    name: slug, seed: 'bench', sourceDateEpoch: 1_700_000_000, table: 'gpt', size,
    partitions: [
      { name: 'ESP', type: 'esp', filesystem: 'image', image: p.esp },
      { name: 'root', type: 'linux', filesystem: 'image', image: p.root },
    ],
  }, null, 2));
  return path;
}

/** A directory of the first `limit` bytes of /usr/bin's regular files (symlinks followed). */
function subset(limit: number): string {
  const dir = join(ROOT, `usrbin-${limit}`);
  if (existsSync(dir)) return dir;
  mkdirSync(dir);
  let n = 0;
  for (const f of readdirSync('/usr/bin').sort()) {
    const p = join('/usr/bin', f);
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st?.isFile()) continue;
    copyFileSync(p, join(dir, f));
    n += st.size;
    if (n > limit) break;
  }
  return dir;
}

const cli = compiledCli(ROOT);
const mib = (kib: number): string => `${Math.round(kib / 1024)} MiB`;
const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}×`;

// --- Input 1: the 2 GiB disk, container formats.
const big = spec('disk', '2GiB', partitions('disk', '/usr/bin', '1G', 40 << 20));
const raw = join(ROOT, 'disk.img');
const rawBuild = measure(`rm -f ${raw} && ${cli} build ${big} -o ${raw} -q`);
const rows: string[] = [];
const cases: [string, string, string][] = [
  ['qcow2', 'qcow2', '-O qcow2'],
  ['qcow2-compressed', 'qcow2', '-O qcow2 -c'],
  ['vhd (vpc)', 'vhd', '-O vpc -o force_size=on'],
  ['vdi', 'vdi', '-O vdi'],
  ['vmdk streamOptimized', 'vmdk', '-O vmdk -o subformat=streamOptimized'],
];
for (const [label, format, qemuArgs] of cases) {
  const fmt = label.startsWith('qcow2-compressed') ? 'qcow2-compressed' : format;
  const ours = join(ROOT, `disk.dw.${fmt}`);
  const ref = join(ROOT, `disk.qemu.${fmt}`);
  const direct = measure(`rm -f ${ours} && ${cli} build ${big} -o ${ours} --format ${fmt} -q`);
  const conv = measure(`rm -f ${ours}.c && ${cli} convert ${raw} ${ours}.c --format ${fmt} -q`);
  const qemu = measure(`rm -f ${ref} && qemu-img convert -f raw ${qemuArgs} ${raw} ${ref}`);
  const twoStep = rawBuild.wall + qemu.wall;
  const twoStepCpu = rawBuild.cpu + qemu.cpu;
  rows.push(`| ${label} | ${direct.wall.toFixed(2)} / ${direct.cpu.toFixed(2)} | ${twoStep.toFixed(2)} / ${twoStepCpu.toFixed(2)} | **${ratio(direct.wall, twoStep)}** | ${conv.wall.toFixed(2)} / ${conv.cpu.toFixed(2)} | ${qemu.wall.toFixed(2)} / ${qemu.cpu.toFixed(2)} | ${ratio(conv.wall, qemu.wall)} | ${mib(direct.rssKiB)} / ${mib(conv.rssKiB)} | ${mib(qemu.rssKiB)} | ${(statSync(ours).size / 2 ** 20).toFixed(0)} / ${(statSync(ref).size / 2 ** 20).toFixed(0)} MiB |`);
}
console.log(`\n### Container formats: 2 GiB GPT disk (FAT ESP + ext4 root, ${(statSync(join(ROOT, 'disk.root.ext4')).size / 2 ** 20).toFixed(0)} MiB root image, ~340 MB of data)\n`);
console.log(`raw build (spec → raw): ${rawBuild.wall.toFixed(2)} s wall, ${rawBuild.cpu.toFixed(2)} s CPU, ${mib(rawBuild.rssKiB)}\n`);
console.log('| format | direct: spec → format (s wall / CPU) | two-step: raw build + qemu-img convert (s wall / CPU) | direct / two-step (wall) | convert raw → format (s wall / CPU) | qemu-img convert (s wall / CPU) | convert / qemu-img (wall) | peak RSS diskwright (build / convert) | peak RSS qemu-img | output size (ours / qemu) |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);

// --- Input 2: 512 MiB disk, whole-file compression against the CLIs on our raw build.
const small = spec('small', '512MiB', partitions('small', subset(48 << 20), '160M', 8 << 20));
const smallRaw = join(ROOT, 'small.img');
const smallBuild = measure(`rm -f ${smallRaw} && ${cli} build ${small} -o ${smallRaw} -q`);
const crow: string[] = [];
const comps: [string, string, string, string][] = [
  ['zstd', '3', 'zstd -T2 -3 -q -c', '.zst'],
  ['xz', '6', 'xz -T2 -6 -c', '.xz'],
  ['gzip', '6', 'gzip -6 -c', '.gz'],
  ['bzip2', '9', 'bzip2 -9 -c', '.bz2'],
];
for (const [name, level, tool, suffix] of comps) {
  const runs = name === 'zstd' || name === 'gzip' ? RUNS : 1;
  const ours = join(ROOT, `small.img${suffix}`);
  const ref = join(ROOT, `small.ref.img${suffix}`);
  const o = measure(`rm -f ${ours} && ${cli} build ${small} -o ${ours} --compression ${name} --level ${level} -q`, runs);
  const t = measure(`${tool} < ${smallRaw} > ${ref}`, runs);
  const twoStep = smallBuild.wall + t.wall;
  crow.push(`| ${name} -${level} | ${o.wall.toFixed(2)} / ${o.cpu.toFixed(2)} | ${t.wall.toFixed(2)} / ${t.cpu.toFixed(2)} (${twoStep.toFixed(2)}) | ${ratio(o.wall, twoStep)} | ${mib(o.rssKiB)} | ${mib(t.rssKiB)} | ${(statSync(ours).size / 2 ** 20).toFixed(1)} / ${(statSync(ref).size / 2 ** 20).toFixed(1)} MiB |`);
}
console.log(`\n### Whole-file compression: 512 MiB GPT disk (~56 MB of data); raw build ${smallBuild.wall.toFixed(2)} s\n`);
console.log('| codec | diskwright build --compression (s wall / CPU) | CLI on the raw build (s wall / CPU) (raw build + CLI, wall) | ours / two-step (wall) | peak RSS diskwright | peak RSS CLI | output (ours / CLI) |');
console.log('|---|---|---|---|---|---|---|');
for (const r of crow) console.log(r);

// --- Peak memory: the same partitions on a 200 MiB and a 20 GiB disk.
const pSmall = partitions('tiny', subset(48 << 20), '160M', 8 << 20);
const s200 = spec('empty200', '200MiB', pSmall);
const s20g = spec('empty20G', '20GiB', pSmall);
const mrow: string[] = [];
for (const [label, format, extra] of [['raw', 'raw', ''], ['qcow2', 'qcow2', ''], ['vhd', 'vhd', ''], ['vmdk', 'vmdk', ''], ['raw + zstd', 'raw', '--compression zstd']] as const) {
  const a = measure(`rm -f ${ROOT}/m200 && ${cli} build ${s200} -o ${ROOT}/m200 --format ${format} ${extra} -q`, 1);
  const b = measure(`rm -f ${ROOT}/m20g && ${cli} build ${s20g} -o ${ROOT}/m20g --format ${format} ${extra} -q`, 1);
  mrow.push(`| build ${label} | ${mib(a.rssKiB)} (${a.wall.toFixed(2)} s) | ${mib(b.rssKiB)} (${b.wall.toFixed(2)} s) |`);
  if (format === 'raw' && !extra) {
    for (const to of ['qcow2', 'vdi']) {
      const ca = measure(`rm -f ${ROOT}/c200 && ${cli} convert ${ROOT}/m200 ${ROOT}/c200 --format ${to} -q`, 1);
      const cb = measure(`rm -f ${ROOT}/c20g && ${cli} convert ${ROOT}/m20g ${ROOT}/c20g --format ${to} -q`, 1);
      mrow.push(`| convert raw → ${to} | ${mib(ca.rssKiB)} (${ca.wall.toFixed(2)} s) | ${mib(cb.rssKiB)} (${cb.wall.toFixed(2)} s) |`);
    }
  }
}
sh(`rm -f ${ROOT}/m200 ${ROOT}/m20g ${ROOT}/c200 ${ROOT}/c20g`);
console.log('\n### Peak memory: same partitions (~60 MB of data) on a 200 MiB and a 20 GiB disk\n');
console.log('| operation | 200 MiB disk | 20 GiB disk |');
console.log('|---|---|---|');
for (const r of mrow) console.log(r);
const load = sh('cat /proc/loadavg').split(' ').slice(0, 3).join(' ');
console.log(`\nmedian of ${RUNS} runs (xz, bzip2: 1 run); load average at the end ${load}; inputs under ${ROOT}`);
