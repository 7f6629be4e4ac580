/**
 * Linux's disk naming (sd_format_disk_name, virtblk_name_format; multipath-tools'
 * user_friendly_names aliases follow the same scheme): a prefix and the index written in
 * base 26 without a zero digit — a … z, aa … zz, aaa … — so every index has one name.
 */

/** `prefix` + the index's letters: diskName('vd', 0) = 'vda', 25 → 'vdz', 26 → 'vdaa', 702 → 'vdaaa'. */
export function diskName(prefix: string, index: number): string {
  let s = '';
  let i = index;
  do {
    s = String.fromCharCode(97 + (i % 26)) + s;
    i = Math.floor(i / 26) - 1;
  } while (i >= 0);
  return prefix + s;
}
