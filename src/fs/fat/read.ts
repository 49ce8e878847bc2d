/**
 * The FAT12/16/32 reader (fatgen103: §3 boot sector and BPB, §4 the FAT, §6 directory entries and
 * their dates, §7 long names), decoding with the writer's declarations (BootSector16,
 * BootSector32, DirEntry, LfnEntry). The BPB is checked against the partition when opened; cluster
 * chains are followed with every entry checked (inside the volume, not free, not bad) and bounded
 * (a file needs exactly its size in clusters; a directory at most 65536 entries, fatgen103 §6; a
 * cluster met twice in one chain is a loop); long names are kept only when their ordinals and
 * checksum match their short entry (§7), as Windows and Linux do.
 */
import { DiskwrightError } from '../../errors.js';
import type { DirEntry as FsDirEntry, FsNode, FsPlace, FsReader, ReadSource } from '../../inspect/fsread.js';
import type { Timestamp, Xattr } from '../../tree/model.js';
import { ATTR_DIRECTORY, ATTR_LONG_NAME, ATTR_VOLUME_ID, BootSector16, BootSector32, DirEntry, LAST_LONG_ENTRY, LfnEntry, NTRES_LOWER_BASE, NTRES_LOWER_EXT } from './bootsector.js';
import { shortNameChecksum } from './names.js';

/** fatgen103 §6: a directory holds at most 65536 entries. */
const MAX_DIR_BYTES = 65536 * 32;
const BPB = 'FAT boot sector';
/** Ids: a directory is its first cluster (loops are found by it); a file its entry's byte offset above 2^32. */
const FILE_ID_BASE = 2 ** 32;
const SECTOR_CACHE = 64;

/** A long name being collected: its parts by ordinal, the ordinal expected next, its checksum. */
interface Lfn { parts: string[]; next: number; sum: number }
interface LfnState { lfn: Lfn | undefined }

interface FatNode extends FsNode {
  readonly cluster: number;
  /** Where the entry is (the root has none), for messages. */
  readonly entryAt: number;
}

/** fatgen103 §6.1: a date and time (2-second resolution), taken as UTC as diskwright writes them. */
function fatDate(date: number, time: number, tenth = 0): Timestamp {
  if (date === 0) return { sec: 315532800, nsec: 0 };
  const y = 1980 + (date >> 9), m = ((date >> 5) & 15) - 1, d = date & 31;
  const sec = Date.UTC(y, m, d, time >> 11, (time >> 5) & 63, (time & 31) * 2) / 1000 + Math.floor(tenth / 100);
  return { sec: Number.isFinite(sec) ? sec : 315532800, nsec: (tenth % 100) * 10_000_000 };
}

export class FatReader implements FsReader {
  readonly type = 'vfat';
  readonly keeps = { owners: false, modes: false, links: false, xattrs: false, devices: false, timeGranularityNs: 2e9 };
  readonly fatType: 12 | 16 | 32;
  private readonly bps: number;
  private readonly clusterBytes: number;
  private readonly clusters: number;
  private readonly fatAt: number;
  private readonly dataAt: number;
  private readonly rootAt: number;
  private readonly rootBytes: number;
  private readonly rootCluster: number;
  private readonly sectors = new Map<number, Uint8Array>();
  private chainCache: { id: number; chain: number[] } | undefined;

  constructor(private readonly src: ReadSource, private readonly place: FsPlace) {
    const head = this.bytes(0, 512, BPB);
    const bs = BootSector16.decode(head);
    if (bs.Signature_word !== 0xaa55) throw this.corrupt(BPB, 510, 'no 0x55AA signature');
    const bps = this.bps = bs.BPB_BytsPerSec as number;
    if (![512, 1024, 2048, 4096].includes(bps)) throw this.corrupt(BPB, 11, `BPB_BytsPerSec ${bps} is not 512, 1024, 2048 or 4096`);
    const spc = bs.BPB_SecPerClus as number;
    if (spc === 0 || spc & (spc - 1)) throw this.corrupt(BPB, 13, `BPB_SecPerClus ${spc} is not a power of two`);
    this.clusterBytes = spc * bps;
    const rsvd = bs.BPB_RsvdSecCnt as number, nfats = bs.BPB_NumFATs as number, rootEnt = bs.BPB_RootEntCnt as number;
    if (rsvd === 0) throw this.corrupt(BPB, 14, 'BPB_RsvdSecCnt is 0');
    if (nfats === 0) throw this.corrupt(BPB, 16, 'BPB_NumFATs is 0');
    const fat16Size = bs.BPB_FATSz16 as number;
    const fatSize = fat16Size || (BootSector32.decodeField(head, 'BPB_FATSz32') as number);
    const total = (bs.BPB_TotSec16 as number) || (bs.BPB_TotSec32 as number);
    if (fatSize === 0) throw this.corrupt(BPB, 22, 'no FAT size (BPB_FATSz16 and BPB_FATSz32 are 0)');
    const rootSectors = Math.ceil((rootEnt * 32) / bps);
    const firstData = rsvd + nfats * fatSize + rootSectors;
    if (total <= firstData) throw this.corrupt(BPB, 19, `${total} sectors leave no data area after ${firstData} sectors of metadata`);
    if (total * bps > this.src.size) throw this.corrupt(BPB, 19, `${total} sectors of ${bps} bytes run past the end of the ${this.src.size}-byte partition`);
    this.clusters = Math.floor((total - firstData) / spc);
    // fatgen103 §3.5: the type is decided by the count of clusters alone.
    this.fatType = this.clusters < 4085 ? 12 : this.clusters < 65525 ? 16 : 32;
    if ((fatSize * bps * 8) / this.fatType < this.clusters + 2) throw this.corrupt(BPB, 22, `a FAT of ${fatSize} sectors cannot hold ${this.clusters + 2} entries`);
    this.fatAt = rsvd * bps;
    this.rootAt = (rsvd + nfats * fatSize) * bps;
    this.rootBytes = rootSectors * bps;
    this.dataAt = firstData * bps;
    if (this.fatType === 32) {
      if (fat16Size !== 0 || rootEnt !== 0) throw this.corrupt(BPB, 17, 'a FAT32 volume with a FAT12/16 root directory or FAT size');
      this.rootCluster = BootSector32.decodeField(head, 'BPB_RootClus') as number;
      if (this.rootCluster < 2 || this.rootCluster >= this.clusters + 2) throw this.corrupt(BPB, 44, `BPB_RootClus ${this.rootCluster} is not a cluster of the volume`);
    } else {
      if (rootEnt === 0) throw this.corrupt(BPB, 17, 'a FAT12/16 volume without root directory entries');
      this.rootCluster = 0;
    }
  }

  /** E_IMAGE_CORRUPT naming the image, the structure and its byte offset in the disk. */
  private corrupt(structure: string, offset: number, what: string): DiskwrightError {
    return new DiskwrightError('E_IMAGE_CORRUPT', `${this.place.image}: ${structure} at offset ${this.place.base + offset}: ${what}`, { value: this.place.image });
  }

  private bytes(offset: number, length: number, structure: string): Uint8Array {
    const b = this.src.read(offset, length);
    if (b.length < length) throw this.corrupt(structure, offset, `its ${length} bytes run past the end of the ${this.src.size}-byte partition`);
    return b;
  }

  /** FAT entry `c` of the first FAT (fatgen103 §4: 12-bit entries straddle bytes and sectors). */
  private entry(c: number): number {
    const bitAt = c * this.fatType;
    const byteAt = this.fatAt + Math.floor(bitAt / 8);
    const get = (o: number): number => {
      const sector = Math.floor(o / this.bps);
      let s = this.sectors.get(sector);
      if (!s) {
        s = this.bytes(sector * this.bps, this.bps, 'FAT');
        if (this.sectors.size >= SECTOR_CACHE) this.sectors.delete(this.sectors.keys().next().value!);
        this.sectors.set(sector, s);
      }
      return s[o - sector * this.bps]!;
    };
    if (this.fatType === 12) {
      const v = get(byteAt) | (get(byteAt + 1) << 8);
      return c & 1 ? v >> 4 : v & 0xfff;
    }
    if (this.fatType === 16) return get(byteAt) | (get(byteAt + 1) << 8);
    return (get(byteAt) | (get(byteAt + 1) << 8) | (get(byteAt + 2) << 16) | (get(byteAt + 3) << 24)) & 0x0fffffff;
  }

  /**
   * The clusters of a chain from `first`: `need` of them (a file), or up to the end-of-chain mark
   * within `max` (a directory). Every link is checked; a repeated cluster is a loop.
   */
  private chain(first: number, need: number | undefined, max: number, what: string, at: number): number[] {
    const eoc = this.fatType === 12 ? 0xff8 : this.fatType === 16 ? 0xfff8 : 0x0ffffff8;
    const bad = eoc - 1;
    const out: number[] = [];
    const seen = new Set<number>();
    for (let c = first; ;) {
      if (c < 2 || c >= this.clusters + 2) throw this.corrupt(what, at, `its chain names cluster ${c}, outside clusters 2..${this.clusters + 1}`);
      if (seen.has(c)) throw this.corrupt(what, at, `its cluster chain loops at cluster ${c}`);
      seen.add(c);
      out.push(c);
      if (need !== undefined && out.length === need) return out;
      if (out.length > max) throw this.corrupt(what, at, `its cluster chain is longer than ${max} clusters`);
      const next = this.entry(c);
      if (next >= eoc) {
        if (need !== undefined) throw this.corrupt(what, at, `its cluster chain ends after ${out.length} of the ${need} clusters its size needs`);
        return out;
      }
      if (next === bad) throw this.corrupt(what, at, `its cluster chain reaches bad cluster mark after cluster ${c}`);
      if (next === 0) throw this.corrupt(what, at, `its cluster chain reaches a free cluster after cluster ${c}`);
      c = next;
    }
  }

  root(): FsNode {
    const t = { sec: 315532800, nsec: 0 };
    return { id: this.rootCluster, kind: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, nlink: 1, mtime: t, atime: t, ctime: t, cluster: this.rootCluster, entryAt: 0 } as FatNode;
  }

  private fileChain(n: FatNode): number[] {
    if (this.chainCache?.id === n.id) return this.chainCache.chain;
    const need = Math.ceil(n.size / this.clusterBytes);
    const chain = need === 0 ? [] : this.chain(n.cluster, need, need, 'FAT directory entry', n.entryAt);
    this.chainCache = { id: n.id, chain };
    return chain;
  }

  read(file: FsNode, offset: number, length: number): Uint8Array {
    const n = file as FatNode;
    const end = Math.min(n.size, offset + length);
    if (offset >= end) return new Uint8Array(0);
    const chain = this.fileChain(n);
    const out = new Uint8Array(end - offset);
    const cs = this.clusterBytes;
    for (let k = Math.floor(offset / cs); k * cs < end; k++) {
      const s = Math.max(offset, k * cs), e = Math.min(end, (k + 1) * cs);
      out.set(this.bytes(this.dataAt + (chain[k]! - 2) * cs + (s - k * cs), e - s, 'FAT data cluster'), s - offset);
    }
    return out;
  }

  dataRanges(file: FsNode): [number, number][] {
    return file.size > 0 ? [[0, file.size]] : [];
  }

  readlink(link: FsNode): Buffer {
    throw this.corrupt('FAT directory entry', (link as FatNode).entryAt, 'FAT has no symlinks');
  }

  xattrs(): Xattr[] { return []; }

  where(node: FsNode): string {
    const n = node as FatNode;
    return n.entryAt ? `FAT directory entry at offset ${this.place.base + n.entryAt}` : `FAT root directory at offset ${this.place.base + (this.fatType === 32 ? 0 : this.rootAt)}`;
  }

  list(dir: FsNode): FsDirEntry[] {
    const n = dir as FatNode;
    const out: FsDirEntry[] = [];
    // A long name's entries may run on from one cluster into the next: one state for the whole directory.
    const state: LfnState = { lfn: undefined };
    if (n.cluster === 0) {
      this.entries(this.bytes(this.rootAt, this.rootBytes, 'FAT root directory'), this.rootAt, out, state);
      return out;
    }
    const chain = this.chain(n.cluster, undefined, Math.ceil(MAX_DIR_BYTES / this.clusterBytes), n.entryAt ? 'FAT directory entry' : BPB, n.entryAt || 44);
    for (const c of chain) {
      const at = this.dataAt + (c - 2) * this.clusterBytes;
      if (!this.entries(this.bytes(at, this.clusterBytes, 'FAT directory cluster'), at, out, state)) break;
    }
    return out;
  }

  /** The entries of one stretch of a directory (the long name being collected in `state`); false once its end mark was met. */
  private entries(b: Uint8Array, at: number, out: FsDirEntry[], state: LfnState): boolean {
    const keep = (v: Lfn | undefined): void => { state.lfn = v; };
    for (let o = 0; o + 32 <= b.length; o += 32) {
      const first = b[o]!;
      if (first === 0) return false; // fatgen103 §6: no entries follow
      if (first === 0xe5) { keep(undefined); continue; }
      const attr = b[o + 11]!;
      if ((attr & 0x3f) === ATTR_LONG_NAME) {
        const e = LfnEntry.decode(b, o);
        const ord = (e.LDIR_Ord as number) & 0x3f;
        const units = Buffer.concat([e.LDIR_Name1 as Uint8Array, e.LDIR_Name2 as Uint8Array, e.LDIR_Name3 as Uint8Array]);
        if ((e.LDIR_Ord as number) & LAST_LONG_ENTRY) keep(ord >= 1 && ord <= 20 ? { parts: [], next: ord, sum: e.LDIR_Chksum as number } : undefined);
        const lfn = state.lfn;
        if (lfn && ord === lfn.next && (e.LDIR_Chksum as number) === lfn.sum) {
          let text = units.toString('utf16le');
          const z = text.indexOf('\0');
          if (z >= 0) text = text.slice(0, z);
          lfn.parts[ord - 1] = text;
          lfn.next--;
        } else keep(undefined);
        continue;
      }
      const lfn = state.lfn;
      const long = lfn && lfn.next === 0 && shortNameChecksum(b.subarray(o, o + 11)) === lfn.sum ? lfn.parts.join('') : undefined;
      keep(undefined);
      if (attr & ATTR_VOLUME_ID) continue; // the volume label
      const e = DirEntry.decode(b, o);
      const raw = Uint8Array.from(e.DIR_Name as Uint8Array);
      if (raw[0] === 0x05) raw[0] = 0xe5; // fatgen103 §6: 0x05 stands for a leading 0xE5
      const nt = e.DIR_NTRes as number;
      const base = Buffer.from(raw.subarray(0, 8)).toString('latin1').replace(/ +$/, '');
      const ext = Buffer.from(raw.subarray(8, 11)).toString('latin1').replace(/ +$/, '');
      if (base === '.' || base === '..') continue;
      const short = (nt & NTRES_LOWER_BASE ? base.toLowerCase() : base) + (ext ? '.' + (nt & NTRES_LOWER_EXT ? ext.toLowerCase() : ext) : '');
      const name = Buffer.from(long ?? short, 'utf8');
      if (name.length === 0 || name.includes(0x2f) || name.includes(0)) throw this.corrupt('FAT directory entry', at + o, `a name with "/" or NUL, or empty (${JSON.stringify(long ?? short)})`);
      const isDir = (attr & ATTR_DIRECTORY) !== 0;
      const cluster = ((this.fatType === 32 ? (e.DIR_FstClusHI as number) : 0) << 16 | (e.DIR_FstClusLO as number)) >>> 0;
      const size = isDir ? 0 : (e.DIR_FileSize as number);
      if ((size > 0 || isDir) && (cluster < 2 || cluster >= this.clusters + 2)) throw this.corrupt('FAT directory entry', at + o, `first cluster ${cluster} is outside clusters 2..${this.clusters + 1}`);
      const mtime = fatDate(e.DIR_WrtDate as number, e.DIR_WrtTime as number);
      const node: FatNode = {
        id: isDir ? cluster : FILE_ID_BASE + at + o, kind: isDir ? 'dir' : 'file', mode: isDir ? 0o755 : 0o644, uid: 0, gid: 0, size, nlink: 1,
        mtime, atime: fatDate(e.DIR_LstAccDate as number, 0), ctime: mtime, cluster, entryAt: at + o,
      };
      out.push({ name, node });
    }
    return true;
  }
}
