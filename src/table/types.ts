/**
 * Well-known partition types: GPT type GUIDs (UEFI 2.10 §5.3.3 and the Discoverable Partitions
 * Specification) and the MBR type bytes that correspond to them.
 */
export interface PartitionType {
  gpt?: string;
  mbr?: number;
}

export const PARTITION_TYPES: Record<string, PartitionType> = {
  esp: { gpt: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B', mbr: 0xef },
  linux: { gpt: '0FC63DAF-8483-4772-8E79-3D69D8477DE4', mbr: 0x83 },
  'bios-boot': { gpt: '21686148-6449-6E6F-744E-656564454649' },
  swap: { gpt: '0657FD6D-A4AB-43C4-84E5-0933C84B4F4F', mbr: 0x82 },
  xbootldr: { gpt: 'BC13C2FF-59E6-4262-A352-B275FD6F7172', mbr: 0xea },
  'linux-root-x86-64': { gpt: '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709', mbr: 0x83 },
  'linux-root-x86': { gpt: '44479540-F297-41B2-9AF7-D131D5F0458A', mbr: 0x83 },
  'linux-root-arm64': { gpt: 'B921B045-1DF0-41C3-AF44-4C6F280D3FAE', mbr: 0x83 },
  'linux-root-arm': { gpt: '69DAD710-2CE4-4E3C-B16C-21A1D49ABED3', mbr: 0x83 },
  'linux-root-riscv64': { gpt: '72EC70A6-CF74-40E6-BD49-4BC8B5F9B6D6', mbr: 0x83 },
  'linux-usr-x86-64': { gpt: '8484680C-9521-48C6-9C11-B0720656F69E', mbr: 0x83 },
  'linux-usr-arm64': { gpt: 'B0E01050-EE5F-4390-949A-9101B17104E9', mbr: 0x83 },
  'linux-home': { gpt: '933AC7E1-2EB4-4F13-B844-0E14E2AEF915', mbr: 0x83 },
  'linux-srv': { gpt: '3B8F8425-20E0-4F3B-907F-1A25A76F98E8', mbr: 0x83 },
  'linux-var': { gpt: '4D21B016-B534-45C2-A9FB-5C16E091FD2D', mbr: 0x83 },
  'linux-lvm': { gpt: 'E6D6D379-F507-44C2-A23C-238F2A3DF928', mbr: 0x8e },
  'linux-raid': { gpt: 'A19D880F-05FC-4D3B-A006-743F0F84911E', mbr: 0xfd },
  'basic-data': { gpt: 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7', mbr: 0x0c },
  fat32: { gpt: 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7', mbr: 0x0c },
  fat16: { gpt: 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7', mbr: 0x06 },
  fat12: { gpt: 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7', mbr: 0x01 },
};

/** GPT partition attribute bits (UEFI 2.10 Table 5.8; bits 48-63 type-specific, per the Discoverable Partitions Specification). */
export const GPT_ATTRIBUTE_BITS: Record<string, number> = {
  required: 0,
  'no-block-io': 1,
  'legacy-bios-bootable': 2,
  'grow-fs': 59,
  'read-only': 60,
  hidden: 62,
  'no-auto': 63,
};

/**
 * Every partition flag: `boot` (the MBR's active flag, BootIndicator 0x80) and the GPT attribute
 * bits. The one list: the spec's `flags:` enum and the `PartitionFlag` type derive from it.
 */
export const PARTITION_FLAGS = ['boot', 'legacy-bios-bootable', 'read-only', 'no-auto', 'grow-fs', 'required', 'hidden'] as const;
export type PartitionFlag = (typeof PARTITION_FLAGS)[number];

/** The GPT type of the protective MBR entry (UEFI 2.10 §5.2.3). */
export const MBR_PROTECTIVE_TYPE = 0xee;
