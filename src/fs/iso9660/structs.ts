/**
 * ECMA-119 (ISO 9660, 4th edition 2019) structures, declared once with the standard's field names
 * and byte offsets (BP numbers minus one), and its two date formats. Numbers that the standard
 * records "both-byte orders" (7.2.3, 7.3.3) use the `u16both`/`u32both` kinds.
 *
 * @example
 * const rec = new Uint8Array(34);
 * DirectoryRecord.encode({ length_of_directory_record: 34, location_of_extent: 20, data_length: 2048, file_flags: FLAG_DIRECTORY, volume_sequence_number: 1, length_of_file_identifier: 1 }, rec);
 */
import { defineStruct } from '../../util/struct.js';
import { civil } from '../../util/civil.js';

export const SECTOR = 2048;
/** ECMA-119 6.2.1: the volume descriptor set starts at logical sector 16 (the system area is 0-15). */
export const SYSTEM_AREA_SECTORS = 16;
export const VD_TYPE_BOOT_RECORD = 0;
export const VD_TYPE_PRIMARY = 1;
export const VD_TYPE_SUPPLEMENTARY = 2;
export const VD_TYPE_TERMINATOR = 255;
/** ECMA-119 8.1.2: "CD001". */
export const STANDARD_IDENTIFIER = new Uint8Array([0x43, 0x44, 0x30, 0x30, 0x31]);

/**
 * ECMA-119 8.4 Primary Volume Descriptor, and 8.5 Supplementary Volume Descriptor (the same layout
 * with volume_flags at BP 8 and escape_sequences at BP 89-120; Joliet's `%/E` is in the latter).
 */
export const VolumeDescriptor = defineStruct('ISO 9660 volume descriptor', 2048, [
  { name: 'volume_descriptor_type', offset: 0, kind: 'u8' },
  { name: 'standard_identifier', offset: 1, kind: { bytes: 5 } },
  { name: 'volume_descriptor_version', offset: 6, kind: 'u8' },
  { name: 'volume_flags', offset: 7, kind: 'u8' },
  { name: 'system_identifier', offset: 8, kind: { bytes: 32 } },
  { name: 'volume_identifier', offset: 40, kind: { bytes: 32 } },
  { name: 'volume_space_size', offset: 80, kind: 'u32both' },
  { name: 'escape_sequences', offset: 88, kind: { bytes: 32 } },
  { name: 'volume_set_size', offset: 120, kind: 'u16both' },
  { name: 'volume_sequence_number', offset: 124, kind: 'u16both' },
  { name: 'logical_block_size', offset: 128, kind: 'u16both' },
  { name: 'path_table_size', offset: 132, kind: 'u32both' },
  { name: 'location_of_type_l_path_table', offset: 140, kind: 'u32le' },
  { name: 'location_of_optional_type_l_path_table', offset: 144, kind: 'u32le' },
  { name: 'location_of_type_m_path_table', offset: 148, kind: 'u32be' },
  { name: 'location_of_optional_type_m_path_table', offset: 152, kind: 'u32be' },
  { name: 'directory_record_for_root_directory', offset: 156, kind: { bytes: 34 } },
  { name: 'volume_set_identifier', offset: 190, kind: { bytes: 128 } },
  { name: 'publisher_identifier', offset: 318, kind: { bytes: 128 } },
  { name: 'data_preparer_identifier', offset: 446, kind: { bytes: 128 } },
  { name: 'application_identifier', offset: 574, kind: { bytes: 128 } },
  { name: 'copyright_file_identifier', offset: 702, kind: { bytes: 37 } },
  { name: 'abstract_file_identifier', offset: 739, kind: { bytes: 37 } },
  { name: 'bibliographic_file_identifier', offset: 776, kind: { bytes: 37 } },
  { name: 'volume_creation_date_and_time', offset: 813, kind: { bytes: 17 } },
  { name: 'volume_modification_date_and_time', offset: 830, kind: { bytes: 17 } },
  { name: 'volume_expiration_date_and_time', offset: 847, kind: { bytes: 17 } },
  { name: 'volume_effective_date_and_time', offset: 864, kind: { bytes: 17 } },
  { name: 'file_structure_version', offset: 881, kind: 'u8' },
  { name: 'application_use', offset: 883, kind: { bytes: 512 } },
]);

/** ECMA-119 8.3 Volume Descriptor Set Terminator (type 255; the rest is zero). */
export const VolumeDescriptorSetTerminator = defineStruct('ISO 9660 volume descriptor set terminator', 2048, [
  { name: 'volume_descriptor_type', offset: 0, kind: 'u8' },
  { name: 'standard_identifier', offset: 1, kind: { bytes: 5 } },
  { name: 'volume_descriptor_version', offset: 6, kind: 'u8' },
]);

/** ECMA-119 9.1 Directory Record: this fixed part, then the file identifier, a pad byte when its length is even, then the system use field. */
export const DirectoryRecord = defineStruct('ISO 9660 directory record', 33, [
  { name: 'length_of_directory_record', offset: 0, kind: 'u8' },
  { name: 'extended_attribute_record_length', offset: 1, kind: 'u8' },
  { name: 'location_of_extent', offset: 2, kind: 'u32both' },
  { name: 'data_length', offset: 10, kind: 'u32both' },
  { name: 'recording_date_and_time', offset: 18, kind: { bytes: 7 } },
  { name: 'file_flags', offset: 25, kind: 'u8' },
  { name: 'file_unit_size', offset: 26, kind: 'u8' },
  { name: 'interleave_gap_size', offset: 27, kind: 'u8' },
  { name: 'volume_sequence_number', offset: 28, kind: 'u16both' },
  { name: 'length_of_file_identifier', offset: 32, kind: 'u8' },
]);

/** ECMA-119 9.1.6 file flags. */
export const FLAG_EXISTENCE = 0x01;
export const FLAG_DIRECTORY = 0x02;
/** Not the final directory record of the file: more extents follow (9.1.6 bit 7, level 3 multi-extent files). */
export const FLAG_MULTI_EXTENT = 0x80;

/** ECMA-119 9.4 Path Table Record, type L (little-endian numbers); the identifier and a pad byte follow. */
export const PathTableRecordL = defineStruct('ISO 9660 path table record (L)', 8, [
  { name: 'length_of_directory_identifier', offset: 0, kind: 'u8' },
  { name: 'extended_attribute_record_length', offset: 1, kind: 'u8' },
  { name: 'location_of_extent', offset: 2, kind: 'u32le' },
  { name: 'parent_directory_number', offset: 6, kind: 'u16le' },
]);

/** ECMA-119 9.4 Path Table Record, type M (big-endian numbers). */
export const PathTableRecordM = defineStruct('ISO 9660 path table record (M)', 8, [
  { name: 'length_of_directory_identifier', offset: 0, kind: 'u8' },
  { name: 'extended_attribute_record_length', offset: 1, kind: 'u8' },
  { name: 'location_of_extent', offset: 2, kind: 'u32be' },
  { name: 'parent_directory_number', offset: 6, kind: 'u16be' },
]);

const REC = {
  len: DirectoryRecord.offsetOf('length_of_directory_record'),
  extent: DirectoryRecord.offsetOf('location_of_extent'),
  dataLength: DirectoryRecord.offsetOf('data_length'),
  date: DirectoryRecord.offsetOf('recording_date_and_time'),
  flags: DirectoryRecord.offsetOf('file_flags'),
  volSeq: DirectoryRecord.offsetOf('volume_sequence_number'),
  idLen: DirectoryRecord.offsetOf('length_of_file_identifier'),
};

/**
 * Write a DirectoryRecord's fixed part at `buf[at]` (zeroed) and its identifier: the hot path for
 * hundreds of thousands of records, straight through a DataView at the declaration's offsets
 * (both-byte orders, 7.2.3/7.3.3); `DirectoryRecord.encode` writes the same bytes. The identifier
 * is given as text: one byte per character (d-characters, or the 0x00/0x01 of "." and ".."), or
 * with `ucs2` two, big-endian (Joliet).
 */
export function writeDirectoryRecord(dv: DataView, buf: Uint8Array, at: number, length: number, extent: number, dataLength: number, time: number, flags: number, id: string, ucs2: boolean): void {
  const idLength = ucs2 ? 2 * id.length : id.length;
  if (extent > 0xffffffff || dataLength > 0xffffffff || length > 255 || idLength > 255) throw new RangeError(`ISO 9660 directory record: a value does not fit (extent ${extent}, length ${dataLength})`);
  dv.setUint8(at + REC.len, length);
  dv.setUint32(at + REC.extent, extent, true);
  dv.setUint32(at + REC.extent + 4, extent, false);
  dv.setUint32(at + REC.dataLength, dataLength, true);
  dv.setUint32(at + REC.dataLength + 4, dataLength, false);
  encodeRecordingDate(time, buf, at + REC.date);
  dv.setUint8(at + REC.flags, flags);
  dv.setUint16(at + REC.volSeq, 1, true);
  dv.setUint16(at + REC.volSeq + 2, 1, false);
  dv.setUint8(at + REC.idLen, idLength);
  writeIdentifier(buf, at + DirectoryRecord.size, id, ucs2);
}

/** An identifier's bytes at `buf[at]`: one per character, or UCS-2 big-endian. */
export function writeIdentifier(buf: Uint8Array, at: number, id: string, ucs2: boolean): void {
  if (ucs2) {
    for (let i = 0; i < id.length; i++) {
      const c = id.charCodeAt(i);
      buf[at + 2 * i] = c >>> 8;
      buf[at + 2 * i + 1] = c & 0xff;
    }
  } else {
    for (let i = 0; i < id.length; i++) buf[at + i] = id.charCodeAt(i);
  }
}

/** Length of a directory record whose identifier has `idLength` bytes and whose system use field has `suLength` (9.1.12: a pad byte after an even-length identifier; 9.1.13: records are of even length). */
export function recordLength(idLength: number, suLength: number): number {
  const n = 33 + idLength + (idLength % 2 === 0 ? 1 : 0) + suLength;
  return n + (n % 2);
}

/** Size of a path table record (9.4.9: a pad byte after an odd-length identifier). */
export function pathRecordLength(idLength: number): number {
  return 8 + idLength + (idLength % 2);
}


/** 1900-01-01 and 2155-12-31 23:59:59 UTC: the range of the 7-byte form (years since 1900 in one byte). */
const MIN_7 = -2208988800;
const MAX_7 = 5996937599;

/**
 * ECMA-119 9.1.5 recording date and time (7 bytes: years since 1900, month, day, hour, minute,
 * second, offset from GMT in 15-minute units), written in UTC; times outside 1900-2155 are clamped.
 */
export function encodeRecordingDate(seconds: number, out: Uint8Array, at = 0): void {
  // Five of these per record (the record's and TF's four), mostly of one time (the epoch clamps
  // them): the last one is kept.
  if (seconds !== lastSeconds) {
    const c = civil(Math.min(MAX_7, Math.max(MIN_7, Math.floor(seconds))));
    lastDate[0] = c.year - 1900;
    lastDate[1] = c.month;
    lastDate[2] = c.day;
    lastDate[3] = c.hour;
    lastDate[4] = c.minute;
    lastDate[5] = c.second;
    lastDate[6] = 0;
    lastSeconds = seconds;
  }
  for (let i = 0; i < 7; i++) out[at + i] = lastDate[i]!;
}
let lastSeconds = NaN;
const lastDate = new Uint8Array(7);

/**
 * ECMA-119 8.4.26.1 digit form (17 bytes: "YYYYMMDDHHMMSScc" and the GMT offset). Time 0 is "not
 * specified" (sixteen '0' digits and offset 0), as xorriso writes the times it has no value for.
 */
export function encodeVolumeDate(seconds: number): Uint8Array {
  const out = new Uint8Array(17);
  if (seconds === 0) {
    out.fill(0x30, 0, 16);
    return out;
  }
  const c = civil(Math.min(253402300799, Math.max(0, Math.floor(seconds))));
  const digits = `${String(c.year).padStart(4, '0')}${[c.month, c.day, c.hour, c.minute, c.second].map((n) => String(n).padStart(2, '0')).join('')}00`;
  out.set(Buffer.from(digits, 'latin1'));
  return out;
}

/** A text field padded with spaces (ECMA-119 7.4.3, 8.4.5), or zeros-then-spaces for UCS-2 (Joliet pads with 0x0020). */
export function paddedText(bytes: Uint8Array, width: number, ucs2 = false): Uint8Array {
  const out = new Uint8Array(width);
  if (ucs2) {
    for (let i = 0; i + 1 < width; i += 2) { out[i] = 0x00; out[i + 1] = 0x20; }
  } else out.fill(0x20);
  out.set(bytes.subarray(0, width - (ucs2 ? width % 2 : 0)));
  return out;
}

/** Days from 1970-01-01 to the civil date (H. Hinnant's days-from-civil, the inverse of `civil`). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = year - (month <= 2 ? 1 : 0);
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/**
 * ECMA-119 9.1.5 read back: the 7-byte recording date at `buf[at]` as Unix seconds (its GMT offset,
 * a signed count of 15-minute units, taken off). Out-of-range fields are taken as they come: a
 * reader reports what is recorded.
 */
export function decodeRecordingDate(buf: Uint8Array, at = 0): number {
  const offset = (buf[at + 6]! << 24) >> 24;
  return daysFromCivil(1900 + buf[at]!, buf[at + 1]!, buf[at + 2]!) * 86400 + buf[at + 3]! * 3600 + buf[at + 4]! * 60 + buf[at + 5]! - offset * 900;
}

/** ECMA-119 8.4.26.1 read back: the 17-byte digit form at `buf[at]` as Unix seconds (0 when "not specified" or not digits). */
export function decodeVolumeDate(buf: Uint8Array, at = 0): number {
  const digits = Buffer.from(buf.subarray(at, at + 16)).toString('latin1');
  if (!/^\d{16}$/.test(digits) || /^0+$/.test(digits)) return 0;
  const n = (s: number, l: number): number => Number(digits.slice(s, s + l));
  const offset = (buf[at + 16]! << 24) >> 24;
  return daysFromCivil(n(0, 4), n(4, 2), n(6, 2)) * 86400 + n(8, 2) * 3600 + n(10, 2) * 60 + n(12, 2) - offset * 900;
}
