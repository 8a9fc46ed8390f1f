/**
 * PostgreSQL WAL positions (LSNs), as `pg_current_wal_lsn()` prints them:
 * two hexadecimal numbers of up to 8 digits, `16/B374D848`. They order the
 * primary's commits: a standby that has replayed up to an LSN shows every
 * transaction committed before it.
 */
const LSN = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;

/** The position as one number, or undefined when `text` is not an LSN. */
export function parseLsn(text: string): bigint | undefined {
  const match = LSN.exec(text);
  if (!match) return undefined;
  return (BigInt(`0x${match[1]}`) << 32n) + BigInt(`0x${match[2]}`);
}

/** The position in PostgreSQL's own notation (upper-case hex, as the server prints it). */
export function formatLsn(position: bigint): string {
  return `${(position >> 32n).toString(16).toUpperCase()}/${(position & 0xffffffffn).toString(16).toUpperCase()}`;
}
