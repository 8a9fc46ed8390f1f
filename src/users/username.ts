/**
 * The one comparison form of a username, computed here and nowhere else:
 * registration stores it (`users.username_canonical`, unique), login looks the
 * account up by it, and the failed-login lockout counts unknown names by it.
 * The database never folds case itself (its `lower()` follows the server's
 * collation, which is how `tİm1` once reached the account of `tim1`).
 *
 * The steps, repeated until nothing changes (at most a few rounds):
 * 1. NFKC, as Django normalises usernames: fullwidth `ｔｉｍ`, `𝐭𝐢𝐦`, `ⓣⓘⓜ`,
 *    ligatures and composed/decomposed accents become one spelling.
 * 2. Full case folding, approximated without locale by upper- then lower-casing
 *    (`ß`/`ẞ` -> `ss`, final `ς` -> `σ`, `ı` -> `i`, Kelvin sign -> `k`).
 * 3. NFKC again (case mapping can produce compatibility characters).
 * 4. `i` + U+0307 (COMBINING DOT ABOVE) -> `i`: lower-casing `İ` (U+0130)
 *    gives that pair, and it looks like a plain `i`.
 * The result never contains an ASCII capital letter (the last round lowered
 * them all and changed nothing), which migrations use for unreachable markers.
 * Stored, not recomputed on read: a later Unicode version cannot move an
 * existing account away from its row.
 */
export function canonicalUsername(username: string): string {
  let current = username;
  for (let round = 0; round < 4; round++) {
    const next = current
      .normalize('NFKC')
      .toUpperCase()
      .toLowerCase()
      .normalize('NFKC')
      .replace(/i\u0307/g, 'i');
    if (next === current) return next;
    current = next;
  }
  // Not settled in four rounds (no known input needs more): still never an ASCII capital.
  return current.toLowerCase();
}
