/**
 * The volume descriptor set (ECMA-119 8: primary 8.4, supplementary 8.5 for Joliet, terminator
 * 8.3) and the path tables (9.4, types L and M).
 *
 * @example
 * const pvd = encodeVolumeDescriptor({ kind: 'primary', volumeId: 'CDROM', ... });
 */
import { paddedText, PathTableRecordL, PathTableRecordM, pathRecordLength, STANDARD_IDENTIFIER, VD_TYPE_PRIMARY, VD_TYPE_SUPPLEMENTARY, VD_TYPE_TERMINATOR, VolumeDescriptor, VolumeDescriptorSetTerminator, encodeVolumeDate, SECTOR } from './structs.js';
import { ucs2Text } from './names.js';

/** Joliet: UCS-2 level 3 escape sequence `%/E` (Joliet specification 1995, 2.2). */
const JOLIET_ESCAPE = Buffer.from('%/E', 'latin1');

export interface DescriptorFields {
  kind: 'primary' | 'joliet';
  volumeId: string;
  systemId?: string;
  volumeSetId?: string;
  publisherId?: string;
  preparerId?: string;
  applicationId?: string;
  volumeSpaceSize: number;
  pathTableSize: number;
  pathTableL: number;
  pathTableM: number;
  rootRecord: Uint8Array;
  /** Volume creation and modification time (seconds; 0: "not specified"). */
  time: number;
}

/** A primary (ECMA-119 8.4) or Joliet supplementary (8.5) volume descriptor. */
export function encodeVolumeDescriptor(f: DescriptorFields): Uint8Array {
  const buf = new Uint8Array(SECTOR);
  const joliet = f.kind === 'joliet';
  // 8.4.5 a-characters, 8.4.6 d-characters: xorriso writes ASCII as given, space padded; Joliet holds UCS-2 (8.5.6 and Joliet 2.3).
  const text = (s: string | undefined, width: number): Uint8Array => paddedText(joliet ? ucs2Text(s ?? '') : Buffer.from(s ?? '', 'latin1'), width, joliet);
  const date = encodeVolumeDate(f.time);
  const unset = encodeVolumeDate(0);
  VolumeDescriptor.encode({
    volume_descriptor_type: joliet ? VD_TYPE_SUPPLEMENTARY : VD_TYPE_PRIMARY,
    standard_identifier: STANDARD_IDENTIFIER,
    volume_descriptor_version: 1,
    system_identifier: text(f.systemId, 32),
    volume_identifier: text(f.volumeId, 32),
    volume_space_size: f.volumeSpaceSize,
    ...(joliet ? { escape_sequences: JOLIET_ESCAPE } : {}),
    volume_set_size: 1,
    volume_sequence_number: 1,
    logical_block_size: SECTOR,
    path_table_size: f.pathTableSize,
    location_of_type_l_path_table: f.pathTableL,
    location_of_type_m_path_table: f.pathTableM,
    directory_record_for_root_directory: f.rootRecord,
    volume_set_identifier: text(f.volumeSetId, 128),
    publisher_identifier: text(f.publisherId, 128),
    data_preparer_identifier: text(f.preparerId, 128),
    application_identifier: text(f.applicationId, 128),
    copyright_file_identifier: text('', 37),
    abstract_file_identifier: text('', 37),
    bibliographic_file_identifier: text('', 37),
    volume_creation_date_and_time: date,
    volume_modification_date_and_time: date,
    volume_expiration_date_and_time: unset,
    volume_effective_date_and_time: unset,
    file_structure_version: 1,
  }, buf);
  return buf;
}

/** ECMA-119 8.3: the terminator closing the descriptor set. */
export function encodeTerminator(): Uint8Array {
  const buf = new Uint8Array(SECTOR);
  VolumeDescriptorSetTerminator.encode({ volume_descriptor_type: VD_TYPE_TERMINATOR, standard_identifier: STANDARD_IDENTIFIER, volume_descriptor_version: 1 }, buf);
  return buf;
}

export interface PathEntry {
  id: Uint8Array;
  lba: number;
  parent: number;
}

export function pathTableSize(entries: readonly { id: Uint8Array }[]): number {
  let n = 0;
  for (const e of entries) n += pathRecordLength(e.id.length);
  return n;
}

/** ECMA-119 9.4.7: a path table's parent directory numbers are 16-bit. */
export const MAX_PATH_TABLE_PARENT = 0xffff;

/**
 * Both path tables (type L, type M) for directories given in path table order. A parent number
 * past 65535 cannot be recorded: it is written modulo 65536 as libisofs does (readers of the
 * directory hierarchy, Linux and xorriso among them, do not use path tables; the planner warns).
 */
export function encodePathTables(entries: readonly PathEntry[]): { l: Uint8Array; m: Uint8Array } {
  const size = pathTableSize(entries);
  const l = new Uint8Array(size);
  const m = new Uint8Array(size);
  const lv = new DataView(l.buffer), mv = new DataView(m.buffer);
  let at = 0;
  // One record per directory (thousands): written through the DataViews at the declared offsets,
  // the same bytes PathTableRecordL/M.encode write (the extended attribute record length stays 0).
  for (const e of entries) {
    const parent = e.parent % (MAX_PATH_TABLE_PARENT + 1);
    if (e.id.length > 255 || e.lba > 0xffffffff) throw new RangeError(`ISO 9660 path table record: a value does not fit (identifier of ${e.id.length} bytes, extent ${e.lba})`);
    l[at + L.idLength] = e.id.length;
    m[at + M.idLength] = e.id.length;
    lv.setUint32(at + L.extent, e.lba, true);
    mv.setUint32(at + M.extent, e.lba, false);
    lv.setUint16(at + L.parent, parent, true);
    mv.setUint16(at + M.parent, parent, false);
    l.set(e.id, at + PathTableRecordL.size);
    m.set(e.id, at + PathTableRecordM.size);
    at += pathRecordLength(e.id.length);
  }
  return { l, m };
}

const offsets = (s: typeof PathTableRecordL): { idLength: number; extent: number; parent: number } => ({
  idLength: s.offsetOf('length_of_directory_identifier'), extent: s.offsetOf('location_of_extent'), parent: s.offsetOf('parent_directory_number'),
});
const L = offsets(PathTableRecordL);
const M = offsets(PathTableRecordM);
