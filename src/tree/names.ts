/**
 * What a file name in a Tree may be, whatever built the tree (a host walk, a tar archive, files
 * dropped into a web page): 1..255 bytes, no NUL and no "/", not "." or "..". The limit is the
 * common one of every filesystem we write (ext4's EXT4_NAME_LEN, squashfs's 256 with NUL); each
 * writer applies its own narrower rules (FAT's 8.3 and long names, ISO 9660's levels) itself.
 */
const DOT = 0x2e;

/**
 * @example
 * isFileName(Buffer.from('a.txt')); // true
 * isFileName(Buffer.from('..'));    // false
 */
export function isFileName(name: Uint8Array): boolean {
  if (name.length === 0 || name.length > 255 || name.includes(0) || name.includes(0x2f)) return false;
  return !(name[0] === DOT && (name.length === 1 || (name.length === 2 && name[1] === DOT)));
}
