import { createHash } from 'node:crypto';

/** The fields a row's hash covers, as read back from the table. */
export interface ChainRow {
  seq: string;
  at: Date;
  actor_id: string | null;
  session_id: string | null;
  action: string;
  resource_type: string | null;
  resource_id: string | null;
  patient_id: string | null;
  result_ids: string[] | null;
  status: number;
  reason: string | null;
  request_id: string | null;
  client_ip: string | null;
  user_agent: string | null;
  prev_hash: Buffer;
  hash: Buffer;
}

export const GENESIS_HASH = Buffer.alloc(32);

/** `<utf-8 byte length>:<value>`, or `~` for NULL: no value can run into its neighbour. */
function field(value: string | null): string {
  return value === null ? '~' : `${Buffer.byteLength(value, 'utf8')}:${value}`;
}

/**
 * The row's hash, computed here independently of the database trigger
 * (migrations/1764250000000-AuditTrail): the two must agree byte for byte.
 */
export function rowHash(row: ChainRow): Buffer {
  const text = [
    row.seq,
    row.at.toISOString(),
    row.actor_id,
    row.session_id,
    row.action,
    row.resource_type,
    row.resource_id,
    row.patient_id,
    row.result_ids === null ? null : row.result_ids.join(','),
    String(row.status),
    row.reason,
    row.request_id,
    row.client_ip,
    row.user_agent,
  ]
    .map(field)
    .join('');
  return createHash('sha256').update(row.prev_hash).update(text, 'utf8').digest();
}

/** A prune leaves this in its own event's reason, so the first remaining row's link can still be checked. */
export function pruneAnchor(throughSeq: string, hash: Buffer): string {
  return `pruned-through:${throughSeq}:${hash.toString('hex')}`;
}

export function parsePruneAnchor(reason: string | null): { throughSeq: string; hash: Buffer } | null {
  const match = /^pruned-through:(\d+):([0-9a-f]{64})$/.exec(reason ?? '');
  return match ? { throughSeq: match[1], hash: Buffer.from(match[2], 'hex') } : null;
}
