import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';

// HMAC-SHA256 from @noble/hashes (pure JS), not node:crypto: ids are derived in the browser build
// too (src/web), and a few dozen 32-byte MACs per build cost nothing either way.
const utf8 = new TextEncoder();

/**
 * The seed used when a spec names none: a fixed constant, so images are reproducible by default
 * (docs/ARCHITECTURE.md §4).
 */
export const DEFAULT_SEED = 'diskwright-default-seed';

/** `length` deterministic bytes for `role`, derived from the seed: HMAC-SHA256(seed, role), extended by counter. */
export function deriveBytes(seed: string, role: string, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let done = 0;
  for (let counter = 0; done < length; counter++) {
    const mac = hmac(sha256, utf8.encode(seed), utf8.encode(counter === 0 ? role : `${role}#${counter}`));
    const n = Math.min(mac.length, length - done);
    out.set(mac.subarray(0, n), done);
    done += n;
  }
  return out;
}

/** A v4-shaped UUID (version nibble 4, RFC 4122 variant) derived from the seed and role. Lower case. */
export function deriveUuid(seed: string, role: string): string {
  const b = deriveBytes(seed, role, 16);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  return formatUuid(b);
}

export function formatUuid(b: Uint8Array): string {
  const h = Buffer.from(b).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export function isUuid(s: string): boolean {
  return UUID_RE.test(s);
}

/** UUID text to its 16 bytes in RFC 4122 (big-endian) order, as ext4 s_uuid stores it. */
export function uuidToBytes(uuid: string): Uint8Array {
  return Uint8Array.from(Buffer.from(uuid.replace(/-/g, ''), 'hex'));
}

/**
 * UUID text to the mixed-endian GUID layout of UEFI (first three fields little-endian),
 * as GPT stores type and partition GUIDs (UEFI 2.10 Appendix A).
 */
export function guidToBytes(guid: string): Uint8Array {
  const b = uuidToBytes(guid);
  const out = new Uint8Array(16);
  out.set([b[3]!, b[2]!, b[1]!, b[0]!, b[5]!, b[4]!, b[7]!, b[6]!]);
  out.set(b.subarray(8), 8);
  return out;
}

export function bytesToGuid(b: Uint8Array): string {
  const be = new Uint8Array(16);
  be.set([b[3]!, b[2]!, b[1]!, b[0]!, b[5]!, b[4]!, b[7]!, b[6]!]);
  be.set(b.subarray(8, 16), 8);
  return formatUuid(be);
}
