/**
 * User and group names resolved through the image's own /etc/passwd and /etc/group
 * (docs/ARCHITECTURE.md §1 inputs, §4 owners): the builder's host databases are never consulted.
 */
export function parseIdDatabase(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const f = line.split(':');
    if (f.length < 3) continue;
    const id = Number(f[2]);
    if (f[0] && Number.isInteger(id) && id >= 0 && !out.has(f[0])) out.set(f[0], id);
  }
  return out;
}
