/**
 * Tests that need root: loop devices (`mount -o loop`, `losetup -b 4096`) and `mknod`. As any other
 * user they are skipped with this reason instead of failing; everything else runs.
 *
 * @example
 * test('the kernel mounts the image', { skip: needsRoot('loop mount') }, async () => { ... });
 */
export const IS_ROOT = process.getuid?.() === 0;

/** node:test's `skip` option: false as root, else the stated reason. */
export function needsRoot(what: string): string | false {
  return IS_ROOT ? false : `needs root (${what}); run the tests as root to include it`;
}
