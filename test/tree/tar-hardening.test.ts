/**
 * Malformed tar inputs (issue 14): every one must end in one line `E_TAR` naming the archive, the
 * member and the byte offset, exit 1, with no output and no temporary file left — plain and
 * compressed. The good archives are made by GNU tar; the bad ones by header surgery on them or by
 * the header writer in tar-fixtures.ts. Also: .tar.bz2 contents round trip through debugfs.
 */
import assert from 'node:assert/strict';
import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runOk, tempDir } from '../helpers/tools.js';
import { archive, cliIn, file, header, headerOffsets, pax, paxRecord, seeded, setChecksum } from './tar-fixtures.js';

const { dir, cleanup } = tempDir('dw-tarbad-');
after(cleanup);
const TMP = join(dir, 'tmp');
const OUT = join(dir, 'out');
const IMGS = join(dir, 'imgs');
mkdirSync(TMP);
mkdirSync(OUT);
mkdirSync(IMGS);

/** A small tree, archived by GNU tar (gnu format, fixed owners and times, sorted). */
function gnuTar(format: 'gnu' | 'posix'): Buffer {
  const src = join(dir, `src-${format}`);
  mkdirSync(join(src, 'd'), { recursive: true });
  writeFileSync(join(src, 'a.txt'), seeded(1000, 'a'));
  writeFileSync(join(src, 'd/b.bin'), seeded(3000, 'b'));
  symlinkSync('d', join(src, 'l'));
  const out = join(dir, `good-${format}.tar`);
  runOk('tar', [`--format=${format}`, '--sort=name', '--owner=0', '--group=0', '--mtime=@1500000000', '-cf', out, '-C', src, '.']);
  return readFileSync(out);
}
const good = gnuTar('gnu');
const goodHeaders = headerOffsets(good);

/** GNU tar writes a symlink and then a member under that name (an archive made to escape through it). */
let escape: Buffer | undefined;
function throughSymlink(): Buffer {
  if (escape) return escape;
  const src = join(dir, 'src-escape');
  mkdirSync(join(src, 'x'), { recursive: true });
  symlinkSync('/etc', join(src, 'l'));
  writeFileSync(join(src, 'x/passwd'), 'evil\n');
  const out = join(dir, 'escape.tar');
  runOk('tar', ['--format=gnu', '--no-recursion', '--transform=s,^x/,l/,', '-cf', out, '-C', src, 'l', 'x/passwd']);
  return (escape = readFileSync(out));
}

function mutate(tar: Buffer, headerIndex: number, at: number, bytes: Buffer | string, fixChecksum = true): Buffer {
  const b = Buffer.from(tar);
  const h = goodHeaders[headerIndex]!;
  (typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes).copy(b, h + at);
  if (fixChecksum) setChecksum(b, 0, h);
  return b;
}

const base256 = (n: bigint, width: number, negative = false): Buffer => {
  const b = Buffer.alloc(width, negative ? 0xff : 0);
  let v = negative ? n - 1n : n;
  for (let i = width - 1; i > 0; i--) { b[i] = Number(v & 0xffn) ^ (negative ? 0xff : 0); v >>= 8n; }
  b[0] = negative ? 0xff : 0x80;
  return b;
};

interface Case {
  name: string;
  tar: () => Buffer;
  /** Member named in the error (undefined: the archive-level errors). */
  member?: string;
  /** Text the error must contain. */
  says: RegExp;
  compress?: 'gzip' | 'xz' | 'zstd' | 'bzip2';
}

// goodHeaders: 0 "./", 1 "./a.txt", 2 "./d/", 3 "./d/b.bin", 4 "./l"
const CASES: Case[] = [
  { name: 'symlink-then-member-through-it', tar: throughSymlink, member: 'l/passwd', says: /goes through "l", which is a symlink/ },
  { name: 'symlink-then-member-through-it-gz', tar: throughSymlink, member: 'l/passwd', says: /goes through "l"/, compress: 'gzip' },
  { name: 'truncated-header', tar: () => good.subarray(0, goodHeaders[3]! + 100), says: /ends inside a header/ },
  { name: 'truncated-header-bz2', tar: () => good.subarray(0, goodHeaders[3]! + 100), says: /ends inside a header/, compress: 'bzip2' },
  { name: 'truncated-data', tar: () => good.subarray(0, goodHeaders[3]! + 512 + 700), member: './d/b.bin', says: /runs past the end of the archive/ },
  { name: 'bad-octal-mode', tar: () => mutate(good, 1, 100, '00006x4\0'), member: './a.txt', says: /mode field .* is not an octal number/ },
  { name: 'bad-octal-size', tar: () => mutate(good, 1, 124, '00000000x17\0'), member: './a.txt', says: /size field .* is not an octal number/ },
  { name: 'negative-size', tar: () => mutate(good, 1, 124, base256(5n, 12, true)), member: './a.txt', says: /size field is negative/ },
  { name: 'huge-size', tar: () => mutate(good, 1, 124, base256(1n << 52n, 12)), member: './a.txt', says: /runs past the end of the archive/ },
  { name: 'size-past-2^53', tar: () => mutate(good, 1, 124, base256(1n << 60n, 12)), member: './a.txt', says: /size field is out of range/ },
  { name: 'bad-checksum', tar: () => mutate(good, 3, 10, 'Z', false), says: /bad header checksum/ },
  { name: 'mtime-out-of-range', tar: () => mutate(good, 1, 136, base256(1n << 40n, 12)), member: './a.txt', says: /mtime .* outside the times/ },
  { name: 'pax-mtime-out-of-range', tar: () => archive(pax([paxRecord('mtime', '99999999999999.5')]), file('t', 'x')), member: 't', says: /pax record mtime=99999999999999\.5 is outside/ },
  { name: 'pax-mtime-not-a-number', tar: () => archive(pax([paxRecord('mtime', '12e5')]), file('t', 'x')), member: 't', says: /is not a time/ },
  { name: 'pax-size-negative', tar: () => archive(pax([paxRecord('size', '-4')]), file('t', 'x')), member: 't', says: /pax record size=.* is not a decimal integer|out of range/ },
  { name: 'pax-uid-too-big', tar: () => archive(pax([paxRecord('uid', '4294967296')]), file('t', 'x')), member: 't', says: /pax record uid=4294967296 is out of range/ },
  { name: 'pax-length-past-end', tar: () => archive(pax([paxRecord('path', 'p', 99)]), file('t', 'x')), says: /bad length 99/ },
  { name: 'pax-length-zero', tar: () => archive(pax([Buffer.from('0 path=p\n')]), file('t', 'x')), says: /bad length 0/ },
  { name: 'pax-no-equals', tar: () => archive(pax([Buffer.from('9 nokey!\n')]), file('t', 'x')), says: /has no key=value/ },
  { name: 'pax-header-too-big', tar: () => archive(header({ name: 'PaxHeader/x', type: 'x', size: 2 ** 33 - 1 }), file('t', 'x')), says: /larger than the 1048576-byte limit/ },
  { name: 'gnu-longname-too-big', tar: () => archive(header({ name: '././@LongLink', type: 'L', raw: [[124, base256(1n << 40n, 12)]] }), file('t', 'x')), says: /larger than the 1048576-byte limit/ },
  { name: 'extended-header-at-end', tar: () => archive(pax([paxRecord('path', 'p')])), member: 'p', says: /extended header is not followed by a member/ },
  { name: 'device-major-out-of-range', tar: () => archive(header({ name: 'dev/x', type: '3', devmajor: 0o7777777, devminor: 1 })), member: 'dev/x', says: /device number 2097151:1 is out of range/ },
  { name: 'device-minor-out-of-range-xz', tar: () => archive(header({ name: 'dev/y', type: '4', devmajor: 8, devminor: 0o7777777 })), member: 'dev/y', says: /device number 8:2097151 is out of range/, compress: 'xz' },
  { name: 'hardlink-to-missing-member', tar: () => archive(file('a', 'x'), header({ name: 'b', type: '1', linkname: 'nope' })), member: 'b', says: /hard link to "nope", which is not an earlier member/ },
  { name: 'hardlink-to-directory-zst', tar: () => archive(header({ name: 'd/', type: '5', mode: 0o755 }), header({ name: 'h', type: '1', linkname: 'd' })), member: 'h', says: /which is a directory/, compress: 'zstd' },
  { name: 'dir-member-where-a-file-exists', tar: () => archive(file('a', 'x'), header({ name: 'a/', type: '5', mode: 0o755 }), file('a/b', 'y')), member: 'a/', says: /is a directory, but an earlier member made it a file/ },
  { name: 'file-member-where-a-dir-exists', tar: () => archive(header({ name: 'a/', type: '5', mode: 0o755 }), file('a', 'x')), member: 'a', says: /is a file, but an earlier member made it a directory/ },
  { name: 'dotdot', tar: () => archive(file('x/../../evil', 'x')), member: 'x/../../evil', says: /escapes the target/ },
  { name: 'nul-in-pax-path', tar: () => archive(pax([paxRecord('path', Buffer.from('a\0b'))]), file('t', 'x')), member: 'a\\u0000b', says: /member name contains a NUL byte/ },
  { name: 'nul-in-pax-linkpath', tar: () => archive(pax([paxRecord('linkpath', Buffer.from('t\0x'))]), header({ name: 's', type: '2', mode: 0o777 })), member: 's', says: /link target contains a NUL byte/ },
  { name: 'name-component-over-255', tar: () => archive(pax([paxRecord('path', 'd/' + 'n'.repeat(256))]), file('t', 'x')), member: 'd/nnn', says: /longer than 255 bytes/ },
  { name: 'symlink-with-empty-target', tar: () => archive(header({ name: 's', type: '2', mode: 0o777 })), member: 's', says: /empty target/ },
  { name: 'gnu-sparse-member', tar: () => archive(header({ name: 'sp', type: 'S', size: 0 })), member: 'sp', says: /GNU sparse/ },
  { name: 'corrupt-gzip', tar: () => good, says: /cannot be decompressed: gzip data .* corrupt or truncated/, compress: 'gzip' },
  { name: 'truncated-xz', tar: () => good, says: /cannot be decompressed: xz data .* corrupt or truncated/, compress: 'xz' },
  { name: 'corrupt-zstd', tar: () => good, says: /cannot be decompressed: zstd data .* corrupt or truncated/, compress: 'zstd' },
  { name: 'corrupt-bzip2', tar: () => good, says: /cannot be decompressed: bzip2 data .* corrupt or truncated/, compress: 'bzip2' },
];

const SUFFIX = { gzip: '.gz', xz: '.xz', zstd: '.zst', bzip2: '.bz2' } as const;
const TOOL = { gzip: ['gzip', '-9', '-n'], xz: ['xz', '-6'], zstd: ['zstd', '-q', '-19'], bzip2: ['bzip2', '-9'] } as const;

function compress(codec: keyof typeof TOOL, plain: Buffer): Buffer {
  const [cmd, ...args] = TOOL[codec];
  const out = join(dir, `c${SUFFIX[codec]}`);
  writeFileSync(join(dir, 'c'), plain);
  runOk('sh', ['-c', `${cmd} ${args.join(' ')} -c "${join(dir, 'c')}" > "${out}"`]);
  return readFileSync(out);
}

/** Break compressed data in the middle (the corrupt-* cases) or cut it short (truncated-*). */
function damage(name: string, packed: Buffer): Buffer {
  if (name.startsWith('truncated-xz')) return packed.subarray(0, packed.length - 40);
  if (!name.startsWith('corrupt-')) return packed;
  const b = Buffer.from(packed);
  for (let i = Math.floor(b.length / 3); i < Math.floor(b.length / 3) + 16; i++) b[i] ^= 0x5a;
  return b;
}

function leftovers(): string[] {
  return [...readdirSync(OUT), ...readdirSync(TMP).filter((f) => f.startsWith('diskwright-'))];
}

for (const c of CASES) {
  test(`malformed tar: ${c.name} -> one-line E_TAR, exit 1, nothing left`, () => {
    const plain = c.tar();
    const bytes = c.compress ? damage(c.name, compress(c.compress, plain)) : plain;
    const fileName = `${c.name}.tar${c.compress ? SUFFIX[c.compress] : ''}`;
    writeFileSync(join(dir, fileName), bytes);
    writeFileSync(join(dir, `${c.name}.yaml`), `table: none\nsourceDateEpoch: 1\npartitions:\n  - name: root\n    filesystem: ext4\n    contents:\n      - { tar: ./${fileName}, target: / }\n`);
    const r = cliIn(['build', join(dir, `${c.name}.yaml`), '-o', join(OUT, 'x.img'), '-q'], { cwd: dir, tmp: TMP });
    assert.equal(r.status, 1, `exit status (stderr: ${r.stderr})`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one line: ${r.stderr}`);
    const line = lines[0]!;
    assert.match(line, /^diskwright: error E_TAR: partitions\[0\]\.contents\[0\]\.tar: tar archive \S+/, line);
    assert.ok(line.includes(fileName), `names the archive: ${line}`);
    assert.match(line, c.says, line);
    if (!/cannot be decompressed/.test(line)) assert.match(line, /at byte \d+/, `names the byte offset: ${line}`);
    if (c.member !== undefined) assert.ok(line.includes(`member "${c.member}`), `names the member ${c.member}: ${line}`);
    assert.deepEqual(leftovers(), [], 'no output or temporary file left');
  });
}

test('a byte offset names the member header: a bad checksum in the 4th header (GNU tar archive)', () => {
  const r = cliIn(['build', join(dir, 'bad-checksum.yaml'), '-o', join(OUT, 'x.img'), '-q'], { cwd: dir, tmp: TMP });
  assert.ok(r.stderr.includes(`at byte ${goodHeaders[3]}:`), r.stderr);
});

test('.tar.bz2 (and the same tar as .gz, .xz, .zst) into ext4: debugfs rdump gives back content, mode, owner, mtime', () => {
  const src = join(dir, 'bz-src');
  mkdirSync(join(src, 'etc/deep/er'), { recursive: true });
  const files: [string, number, number, number, number][] = [
    ['etc/hostname', 0o644, 0, 0, 1600000000], ['etc/deep/er/blob', 0o600, 1000, 100, 1500000000],
    ['etc/script', 0o755, 0, 0, 1400000000], ['big', 0o640, 33, 33, 1300000000], ['holey', 0o644, 0, 0, 1300000000],
  ];
  // holey: data, runs of zeros longer than the temporary file's hole blocks at unaligned offsets, data.
  const holey = Buffer.concat([seeded(100_001, 'h1'), Buffer.alloc((1 << 20) + 5000), seeded(70_001, 'h2'), Buffer.alloc(300_000), seeded(3, 'h3')]);
  for (const [p, mode, , , t] of files) {
    writeFileSync(join(src, p), p === 'holey' ? holey : seeded(p === 'big' ? 3 << 20 : 777 + p.length * 1000, p));
    chmodSync(join(src, p), mode);
    utimesSync(join(src, p), t, t);
  }
  symlinkSync('deep/er/blob', join(src, 'etc/link'));
  // One tar with per-file owners: GNU tar sets owners per invocation, so append member by member.
  const tarFile = join(dir, 'rt.tar');
  runOk('tar', ['--format=posix', '--owner=0', '--group=0', '--mtime=@1200000000', '--no-recursion', '-cf', tarFile, '-C', src, 'etc', 'etc/deep', 'etc/deep/er', 'etc/link']);
  for (const [p, , u, g] of files) runOk('tar', ['--format=posix', `--owner=${u}`, `--group=${g}`, '-rf', tarFile, '-C', src, p]);
  for (const codec of ['bzip2', 'gzip', 'xz', 'zstd'] as const) {
    const packed = join(dir, `rt.tar${SUFFIX[codec]}`);
    const [cmd, ...args] = TOOL[codec];
    runOk('sh', ['-c', `${cmd} ${args.join(' ')} -c "${tarFile}" > "${packed}"`]);
    writeFileSync(join(dir, `rt-${codec}.yaml`), `table: none\npartitions:\n  - name: root\n    filesystem: ext4\n    contents:\n      - { tar: ./rt.tar${SUFFIX[codec]}, target: /opt }\n`);
    const img = join(IMGS, `rt-${codec}.img`);
    const r = cliIn(['build', join(dir, `rt-${codec}.yaml`), '-o', img, '-q'], { cwd: dir, tmp: TMP });
    assert.equal(r.status, 0, r.stderr);
    runOk('e2fsck', ['-fn', img]);
    const back = join(dir, `back-${codec}`);
    mkdirSync(back);
    runOk('debugfs', ['-R', `rdump /opt ${back}`, img]);
    for (const [p, mode, u, g, t] of files) {
      const st = statSync(join(back, 'opt', p));
      assert.ok(readFileSync(join(back, 'opt', p)).equals(readFileSync(join(src, p))), `${codec}: content of ${p}`);
      assert.equal(st.mode & 0o7777, mode, `${codec}: mode of ${p}`);
      assert.equal(st.uid, u, `${codec}: uid of ${p}`);
      assert.equal(st.gid, g, `${codec}: gid of ${p}`);
      assert.equal(Math.floor(st.mtimeMs / 1000), t, `${codec}: mtime of ${p}`);
    }
    // The zero runs of holey are holes of the temporary tar, so the member is scanned and they stay holes in ext4.
    const blocks = Number(/Blockcount: (\d+)/.exec(runOk('debugfs', ['-R', 'stat /opt/holey', img]))?.[1]);
    assert.ok(blocks * 512 < holey.length - (1 << 20), `${codec}: holey has ${blocks} sectors allocated`);
    assert.ok(lstatSync(join(back, 'opt/etc/link')).isSymbolicLink(), `${codec}: symlink kept`);
    assert.equal(readlinkSync(join(back, 'opt/etc/link')), 'deep/er/blob');
    assert.deepEqual(readdirSync(TMP).filter((f) => f.startsWith('diskwright-')), [], 'decompressed tar removed after the build');
  }
});

test('a tar that is not compressed but looks truncated at a block boundary is accepted (GNU tar does too)', () => {
  // No end-of-archive blocks at all: GNU tar extracts it silently.
  const noEnd = Buffer.concat([file('f', 'content\n')]);
  writeFileSync(join(dir, 'noend.tar'), noEnd);
  writeFileSync(join(dir, 'noend.yaml'), 'table: none\npartitions:\n  - name: root\n    filesystem: ext4\n    contents:\n      - { tar: ./noend.tar, target: / }\n');
  const img = join(IMGS, 'noend.img');
  const r = cliIn(['build', join(dir, 'noend.yaml'), '-o', img, '-q'], { cwd: dir, tmp: TMP });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(runOk('debugfs', ['-R', 'cat /f', img]), 'content\n');
});
