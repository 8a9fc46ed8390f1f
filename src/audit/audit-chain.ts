import { createHash } from 'node:crypto';

/** An event as read back from audit_events, with its link from audit_chain (null until sealed). */
export interface EventRow {
  seq: string;
  chain_position: string | null;
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
  prev_hash: Buffer | null;
  hash: Buffer | null;
}

/** A sealed event: what a link's hash covers. */
export interface ChainRow extends EventRow {
  chain_position: string;
  prev_hash: Buffer;
  hash: Buffer;
}

export const GENESIS_HASH = Buffer.alloc(32);

/** `<utf-8 byte length>:<value>`, or `~` for NULL: no value can run into its neighbour. */
function field(value: string | null): string {
  return value === null ? '~' : `${Buffer.byteLength(value, 'utf8')}:${value}`;
}

/**
 * The link's hash, computed here independently of audit_seal()
 * (migrations/1764300000000-AuditSealing): the two must agree byte for byte.
 */
export function rowHash(row: ChainRow): Buffer {
  const text = [
    row.chain_position,
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
export function pruneAnchor(throughPosition: string, hash: Buffer): string {
  return `pruned-through:${throughPosition}:${hash.toString('hex')}`;
}

export function parsePruneAnchor(reason: string | null): { throughPosition: string; hash: Buffer } | null {
  const match = /^pruned-through:(\d+):([0-9a-f]{64})$/.exec(reason ?? '');
  return match ? { throughPosition: match[1], hash: Buffer.from(match[2], 'hex') } : null;
}
