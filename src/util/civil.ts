/** Calendar fields of Unix times, in UTC, by arithmetic; used by every format that records dates as fields (FAT, ISO 9660). */

export interface Civil { year: number; month: number; day: number; hour: number; minute: number; second: number }

/**
 * UTC calendar fields of a Unix time, by arithmetic (the days-to-civil algorithm of H. Hinnant's
 * "chrono-compatible low-level date algorithms"): no Date object per timestamp, and no time zone.
 */
export function civil(seconds: number): Civil {
  const days = Math.floor(seconds / 86400);
  const rest = seconds - days * 86400;
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return { year, month, day, hour: Math.floor(rest / 3600), minute: Math.floor((rest % 3600) / 60), second: rest % 60 };
}
