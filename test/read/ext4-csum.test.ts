/**
 * The ext4 reader checks metadata_csum (issue 11): an image diskwright wrote is damaged in one
 * checksummed structure at a time (a byte of an inode, of a directory block, of a group
 * descriptor), e2fsck -fn confirms the checksum no longer matches, and `cat` / `ls` then refuse it
 * with exit 1 and one line naming the image, the structure and its byte offset, which must be the
 * offset debugfs gives for that structure. The undamaged image reads back as the source.
 */
import assert from 'node:assert/strict';
import { copyFileSync, openSync, readFileSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { cli } from '../helpers/disk.js';
import { run, runOk, tempDir } from '../helpers/tools.js';
import { build, EPOCH, sourceTree } from './fixtures.js';

const { dir, cleanup } = tempDir('dw-ext4csum-');
after(cleanup);
const BLOCK = 4096;

async function image(): Promise<{ img: string; tree: string }> {
  const tree = sourceTree(dir, 'ext4-csum');
  const img = join(dir, 'root.img');
  await build({ name: 'csum', seed: 'csum', sourceDateEpoch: EPOCH, table: 'none', partitions: [{ name: 'root', filesystem: 'ext4', label: 'root', contents: [{ source: tree, target: '/' }] }] }, img);
  return { img, tree };
}

/** A copy of `img` with the byte at `offset` inverted. */
function damaged(img: string, name: string, offset: number): string {
  const out = join(dir, name);
  copyFileSync(img, out);
  const byte = readFileSync(img).subarray(offset, offset + 1)[0]!;
  const fd = openSync(out, 'r+');
  writeSync(fd, Buffer.from([byte ^ 0xff]), 0, 1, offset);
  closeSync(fd);
  return out;
}

/** debugfs: where inode `path` lives (block and offset within it). */
function inodeOffset(img: string, path: string): number {
  const out = runOk('debugfs', ['-R', `imap ${path}`, img]);
  const m = /located at block (\d+), offset (0x[0-9a-f]+)/.exec(out);
  assert.ok(m, `debugfs imap: ${out}`);
  return Number(m[1]) * BLOCK + Number(m[2]);
}

/** The one error line: exit 1, E_IMAGE_CORRUPT, naming the image, the structure and the offset; no stack trace. */
function refused(r: { status: number; stderr: string }, img: string, structure: RegExp, offset: number): void {
  assert.equal(r.status, 1, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /E_IMAGE_CORRUPT/);
  assert.ok(lines[0]!.includes(img), lines[0]);
  assert.match(lines[0]!, structure);
  assert.match(lines[0]!, new RegExp(`offset ${offset}\\b`), `${lines[0]} should name offset ${offset}`);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
}

test('ext4 metadata_csum: a damaged inode, directory block and group descriptor are refused where e2fsck sees them', async () => {
  const { img, tree } = await image();
  assert.equal(run('e2fsck', ['-fn', img]).status, 0);
  assert.equal(cli(['cat', img, '/etc/os-release']).stdout, readFileSync(join(tree, 'etc/os-release'), 'utf8'));

  // An inode: its i_mtime's low byte (offset 0x10 in struct ext4_inode) changes, i_checksum does not.
  const at = inodeOffset(img, '/etc/hostname');
  const badInode = damaged(img, 'inode.img', at + 0x10);
  const fsck = run('e2fsck', ['-fn', badInode]);
  assert.notEqual(fsck.status, 0);
  assert.match(fsck.stdout + fsck.stderr, /checksum/i);
  refused(cli(['cat', badInode, '/etc/hostname']), badInode, /ext4 inode \d+/, at);

  // A directory block: a byte of /usr/share/doc's first block (an entry's name), the tail's checksum unchanged.
  const blocks = runOk('debugfs', ['-R', 'blocks /usr/share/doc', img]).trim().split(/\s+/).map(Number);
  const dirBlock = blocks[0]! * BLOCK;
  const badDir = damaged(img, 'dir.img', dirBlock + 24 + 8); // the third entry's name (after `.` and `..`)
  assert.notEqual(run('e2fsck', ['-fn', badDir]).status, 0);
  refused(cli(['ls', badDir, '/usr/share/doc']), badDir, /ext4 directory block/, dirBlock);

  // The first group descriptor (block 1): bg_free_blocks_count_lo's low byte.
  const gd = BLOCK + 0x0c;
  const badGd = damaged(img, 'gd.img', gd);
  const fsckGd = run('e2fsck', ['-fn', badGd]);
  assert.notEqual(fsckGd.status, 0);
  assert.match(fsckGd.stdout + fsckGd.stderr, /checksum/i);
  refused(cli(['ls', badGd, '/']), badGd, /ext4 group descriptor/, BLOCK);
});
