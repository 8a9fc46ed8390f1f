import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

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
  patient_ids?: string[] | null;
  result_ids: string[] | null;
  /** How many events the row stands for (an aggregate of refusals: RefusalWriter), and the refused route. */
  count?: number | null;
  route?: string | null;
  status: number;
  reason: string | null;
  request_id: string | null;
  client_ip: string | null;
  user_agent: string | null;
  prev_hash: Buffer | null;
  hash: Buffer | null;
}

/**
 * An id list as a link covers it: the ids joined by commas. The sealer and
 * audit-verify have PostgreSQL join them (`array_to_string(ids, ',', '')`,
 * a NULL element as empty, exactly as JavaScript's join), so thousands of
 * ids a second are never split into strings only to be joined again.
 */
export interface JoinedIds {
  joined: string;
}
export type IdList = string[] | JoinedIds | null | undefined;

/** An event as the chain reads it: its id lists as arrays or already joined. */
export type ChainEvent = Omit<EventRow, 'patient_ids' | 'result_ids'> & { patient_ids?: IdList; result_ids: IdList };

/** A sealed event: what a link's hash covers. */
export interface ChainRow extends ChainEvent {
  chain_position: string;
  prev_hash: Buffer;
  hash: Buffer;
}

export const GENESIS_HASH = Buffer.alloc(32);

/** `<utf-8 byte length>:<value>`, or `~` for NULL: no value can run into its neighbour. */
function field(value: string | null | undefined): string {
  return value === null || value === undefined ? '~' : `${Buffer.byteLength(value, 'utf8')}:${value}`;
}

const list = (ids: IdList) => (ids === null || ids === undefined ? null : Array.isArray(ids) ? ids.join(',') : ids.joined);

function eventFields(row: ChainEvent): Array<string | null | undefined> {
  return [
    row.at.toISOString(),
    row.actor_id,
    row.session_id,
    row.action,
    row.resource_type,
    row.resource_id,
    row.patient_id,
    list(row.result_ids),
    String(row.status),
    row.reason,
    row.request_id,
    row.client_ip,
    row.user_agent,
  ];
}

/**
 * The unkeyed link of the chain's first versions (sha256, computed by the
 * database: migrations/1764300000000-AuditSealing). Only links before the
 * head's `keyed_from` boundary are checked this way.
 */
export function rowHash(row: ChainRow): Buffer {
  const text = [row.chain_position, ...eventFields(row)].map(field).join('');
  return createHash('sha256').update(row.prev_hash).update(text, 'utf8').digest();
}

/**
 * The key material derived from AUDIT_CHAIN_KEY: one key for links, one for
 * checkpoints, so a value of one kind can never pass for the other.
 */
export interface ChainKeys {
  link: Buffer;
  checkpoint: Buffer;
}

export function deriveChainKeys(secret: Buffer): ChainKeys {
  const derive = (label: string) => createHmac('sha256', secret).update(label).digest();
  return { link: derive('hc-audit-chain-link-v1'), checkpoint: derive('hc-audit-checkpoint-v1') };
}

/**
 * A keyed link: HMAC-SHA256 over the previous link, the position, the
 * event's number and every field of the event, `count` and `route` included
 * (so an aggregated refusal row cannot be changed either). The database never
 * holds the key, so it cannot make (or remake) one.
 */
export function keyedLinkHash(keys: ChainKeys, prev: Buffer, position: string, row: ChainEvent): Buffer {
  const text = ['k1', position, String(row.seq), ...eventFields(row), list(row.patient_ids), String(row.count ?? 1), row.route]
    .map(field)
    .join('');
  return createHmac('sha256', keys.link).update(prev).update(text, 'utf8').digest();
}

/** What a link stands for: an event, or a number without one (see migrations/1796290400000-AuditKeyedChain). */
export type LinkKind = 'event' | 'missing' | 'rolled_back' | 'acknowledged';

/**
 * The link the sealer writes for a number without an event: one this app saw
 * committed and found deleted before sealing ('missing'), or one a write
 * that rolled back had taken ('rolled_back'), or one an operator acknowledged
 * as lost to a crash ('acknowledged', by `audit-acknowledge-gap`).
 */
export function markLinkHash(keys: ChainKeys, prev: Buffer, position: string, seq: string, kind: Exclude<LinkKind, 'event'>): Buffer {
  const text = [`k1-${kind}`, position, seq].map(field).join('');
  return createHmac('sha256', keys.link).update(prev).update(text, 'utf8').digest();
}

/** A prune leaves this in its own event's reason, so the first remaining row's link can still be checked. */
export function pruneAnchor(throughPosition: string, hash: Buffer): string {
  return `pruned-through:${throughPosition}:${hash.toString('hex')}`;
}

export function parsePruneAnchor(reason: string | null): { throughPosition: string; hash: Buffer } | null {
  const match = /^pruned-through:(\d+):([0-9a-f]{64})$/.exec(reason ?? '');
  return match ? { throughPosition: match[1], hash: Buffer.from(match[2], 'hex') } : null;
}

/** Where the chain stood at a moment, signed with the checkpoint key: kept by operators outside the database. */
export interface Checkpoint {
  position: string;
  hash: Buffer;
  /** The head's keyed_from: pins the boundary below which links are unkeyed. */
  keyedFrom: string;
  at: Date;
}

const CHECKPOINT_PREFIX = 'hc-audit-cp1';

function checkpointMac(keys: ChainKeys, body: string): Buffer {
  return createHmac('sha256', keys.checkpoint).update(body, 'utf8').digest();
}

/** `hc-audit-cp1.<position>.<hash hex>.<keyed from>.<time>.<mac>`: one line, safe in a log, a ticket or a shell argument. */
export function signCheckpoint(keys: ChainKeys, checkpoint: Checkpoint): string {
  const body = [
    CHECKPOINT_PREFIX,
    checkpoint.position,
    checkpoint.hash.toString('hex'),
    checkpoint.keyedFrom,
    checkpoint.at.toISOString(),
  ].join('.');
  return `${body}.${checkpointMac(keys, body).toString('base64url')}`;
}

/** The checkpoint, or null when it is malformed or was not signed with this key. */
export function parseCheckpoint(keys: ChainKeys, text: string): Checkpoint | null {
  const match =
    /^(hc-audit-cp1\.(\d{1,19})\.([0-9a-f]{64})\.(\d{1,19})\.(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z))\.([A-Za-z0-9_-]{43})$/.exec(
      text.trim(),
    );
  if (!match) return null;
  const expected = checkpointMac(keys, match[1]);
  const given = Buffer.from(match[6], 'base64url');
  // Only the one canonical spelling of the MAC: base64url's last character carries 2 unused bits, so
  // another spelling can decode to the same bytes.
  if (given.toString('base64url') !== match[6]) return null;
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  return { position: match[2], hash: Buffer.from(match[3], 'hex'), keyedFrom: match[4], at: new Date(match[5]) };
}
