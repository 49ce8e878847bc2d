/**
 * EFI disk against genimage (issue 12): a GPT disk with a FAT ESP and an ext4 root, made by
 * diskwright from one spec and by genimage (pengutronix, Debian package) from the same layout, in
 * the same run. genimage makes the ESP with mkdosfs + mcopy and the root with `mke2fs -d` (plus its
 * e2fsck), then copies both into the disk image. Inputs (bench/corpus.ts ROOT, made once): the ESP
 * of bench/fat-corpus.ts (kernel, initramfs, ~300 files, ~74 MiB) and the Debian minbase rootfs
 * (~200 MB, ~6,800 entries).
 *
 * Besides the whole disk, the split: each filesystem alone (diskwright's quick forms `fat` and
 * `ext4` at the same sizes; genimage with a config holding only that image) and diskwright's fixed
 * start-up (`--version`). Both sides run in turn on the same page-cache state (`alternate`);
 * medians of RUNS runs of wall and CPU (user + system) time, peak RSS, the load average.
 * NODE_EXTRA_CA_CERTS is removed from diskwright's environment (~50 ms per Node start here).
 *
 *   node --import tsx bench/disk.bench.ts          # DW_CLI=/path/dist/cli/main.js for a CLI built already
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compiledCli } from './compiled-cli.js';
import { alternate, load, OUT, prepared, q, ROOT, timed, trees, type Measure } from './corpus.js';
import { makeEsp } from './fat-corpus.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const ESP_MIB = 256;
const ROOT_MIB = 512;

const esp = prepared('esp', makeEsp);
const rootfs = prepared('rootfs', trees.rootfs!.make);
const work = join(OUT, 'disk');
mkdirSync(work, { recursive: true });
const cli = process.env.DW_CLI ? `node ${process.env.DW_CLI}` : compiledCli(join(ROOT, 'disk-cli'));
const dwEnv = 'env -u NODE_EXTRA_CA_CERTS';

// diskwright: the spec (partitions from 1 MiB, 1 MiB aligned: genimage gets `align = 1M`).
const spec = join(work, 'efi-disk.yaml');
writeFileSync(spec, [
  'table: gpt',
  'sourceDateEpoch: 1700000000',
  'partitions:',
  `  - { name: ESP, type: esp, size: ${ESP_MIB}MiB, filesystem: vfat, label: ESP, contents: [{ source: ${JSON.stringify(esp)}, target: / }] }`,
  `  - { name: root, type: linux, size: ${ROOT_MIB}MiB, filesystem: ext4, label: root, contents: [{ source: ${JSON.stringify(rootfs)}, target: / }] }`,
  '',
].join('\n'));

// genimage: the same layout; `srcpath` fills each filesystem straight from its tree (no copy to rootpath).
const vfatImage = `image esp.vfat {\n  vfat { label = "ESP" }\n  srcpath = "${esp}"\n  size = ${ESP_MIB}M\n}\n`;
const ext4Image = `image root.ext4 {\n  ext4 { label = "root" use-mke2fs = true }\n  srcpath = "${rootfs}"\n  size = ${ROOT_MIB}M\n}\n`;
const diskImage = 'image efi-disk.img {\n  hdimage { partition-table-type = "gpt" align = 1M }\n' +
  '  partition esp { image = "esp.vfat" partition-type-uuid = "U" }\n' +
  '  partition root { image = "root.ext4" partition-type-uuid = "L" }\n}\n';
const configs = { disk: vfatImage + ext4Image + diskImage, vfat: vfatImage, ext4: ext4Image };
for (const [name, text] of Object.entries(configs)) writeFileSync(join(work, `genimage-${name}.cfg`), text);
mkdirSync(join(work, 'empty-root'), { recursive: true });

const genimage = (name: keyof typeof configs): string => {
  const g = join(work, `g-${name}`);
  return `rm -rf ${q(g)} && mkdir -p ${q(g)} && genimage --config ${q(join(work, `genimage-${name}.cfg`))} --rootpath ${q(join(work, 'empty-root'))} ` +
    `--tmppath ${q(join(g, 'tmp'))} --inputpath ${q(g)} --outputpath ${q(g)} >${q(join(g, 'log'))} 2>&1`;
};
const ours = (name: string): string => join(work, `dw-${name}.img`);

const cases: { name: string; dw: string; dwOut: string; ref: string; refOut: string }[] = [
  { name: `GPT disk: ESP ${ESP_MIB} MiB (vfat) + root ${ROOT_MIB} MiB (ext4)`, dw: `${dwEnv} ${cli} build ${q(spec)} -o ${q(ours('disk'))} -q`, dwOut: ours('disk'), ref: genimage('disk'), refOut: join(work, 'g-disk/efi-disk.img') },
  { name: `the ESP alone (${ESP_MIB} MiB FAT16)`, dw: `${dwEnv} ${cli} fat ${q(esp)} -o ${q(ours('esp'))} --size ${ESP_MIB}MiB --label ESP -q`, dwOut: ours('esp'), ref: genimage('vfat'), refOut: join(work, 'g-vfat/esp.vfat') },
  { name: `the root alone (${ROOT_MIB} MiB ext4)`, dw: `${dwEnv} ${cli} ext4 ${q(rootfs)} -o ${q(ours('root'))} --size ${ROOT_MIB}MiB --label root -q`, dwOut: ours('root'), ref: genimage('ext4'), refOut: join(work, 'g-ext4/root.ext4') },
];

const load0 = load();
const rows: { name: string; ours: Measure; ref: Measure }[] = [];
for (const c of cases) rows.push({ name: c.name, ...alternate({ ours: c.dw, ref: c.ref }, [c.dwOut, c.refOut], RUNS) });
const version: Measure[] = [];
for (let i = 0; i < RUNS * 3; i++) version.push(timed(`${dwEnv} ${cli} --version >/dev/null`));

// The outputs are what they claim to be: both disks' tables and filesystems pass the oracles.
for (const img of [ours('disk'), join(work, 'g-disk/efi-disk.img')]) {
  const v = spawnSync('sgdisk', ['-v', img], { encoding: 'utf8' });
  if (!/No problems found/.test(v.stdout)) throw new Error(`sgdisk -v ${img}:\n${v.stdout}${v.stderr}`);
}
for (const [cmd, args] of [['fsck.fat', ['-n', ours('esp')]], ['e2fsck', ['-fn', ours('root')]]] as const) {
  const r = spawnSync(cmd, [...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}:\n${r.stdout}${r.stderr}`);
}
rmSync(join(work, 'g-disk', 'tmp'), { recursive: true, force: true });

const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
console.log('| what | diskwright wall / CPU (s) | genimage wall / CPU (s) | ratio wall / CPU | peak RSS diskwright / genimage |');
console.log('|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.name} | ${r.ours.wall.toFixed(2)} / ${r.ours.cpu.toFixed(2)} | ${r.ref.wall.toFixed(2)} / ${r.ref.cpu.toFixed(2)} | ${(r.ours.wall / r.ref.wall).toFixed(2)}× / ${(r.ours.cpu / r.ref.cpu).toFixed(2)}× | ${(r.ours.rssKiB / 1024).toFixed(0)} / ${(r.ref.rssKiB / 1024).toFixed(0)} MiB |`);
}
console.log(`| diskwright \`--version\` (start-up, counted in each diskwright row) | ${med(version.map((m) => m.wall)).toFixed(2)} / ${med(version.map((m) => m.cpu)).toFixed(2)} | | | |`);
console.log(`\nmedian of ${RUNS} runs (--version: ${RUNS * 3}), Node ${process.version}; load average ${load0} before, ${load()} after; inputs under ${ROOT}`);
