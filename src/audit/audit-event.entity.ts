import { Check, Column, Entity, Index, PrimaryColumn, Unique } from 'typeorm';

export const AUDIT_ACTIONS = [
  'create',
  'read',
  'list',
  'update',
  'delete',
  'login_succeeded',
  'login_failed',
  'token_refreshed',
  'refresh_reuse_detected',
  'logout',
  'password_changed',
  'access_denied',
  'user_changed',
  'audit_pruned',
  // Second factors (migrations/1796290300000-Mfa).
  'mfa_setup',
  'mfa_confirmed',
  'mfa_disabled',
  'mfa_failed',
  'mfa_recovery_used',
  // A record's history read (migrations/1796290800000-RecordHistory).
  'history',
  // Deletes that can be undone (migrations/1796290900000-SoftDelete): a record brought back, a deleted one removed for good.
  'restore',
  'purge',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export const AUDIT_RESOURCE_TYPES = ['patient', 'mapping', 'doctor', 'user', 'audit_event'] as const;
export type AuditResourceType = (typeof AUDIT_RESOURCE_TYPES)[number];

// Mirrors migrations/1764250000000-AuditTrail, 1764300000000-AuditSealing, 1796290400000-AuditKeyedChain and
// 1796290500000-AuditAcknowledgedGaps.
// seq and at are set by the audit_events_stamp trigger; the app only ever INSERTs the other columns. The
// hash chain is in audit_chain, extended by the app's sealer (AuditChainService.seal).
/** Who did what to which record, when, from where, and how it ended. Ids only: never a patient's data. */
@Entity({ name: 'audit_events' })
@Check('audit_events_action_check', `action IN (${AUDIT_ACTIONS.map((a) => `'${a}'`).join(', ')})`)
@Check('audit_events_resource_type_check', `resource_type IN (${AUDIT_RESOURCE_TYPES.map((a) => `'${a}'`).join(', ')})`)
@Check('audit_events_count_check', 'count >= 1')
@Index('audit_events_at_idx', ['at', 'seq'])
@Index('audit_events_actor_idx', ['actorId', 'seq'])
@Index('audit_events_patient_idx', ['patientId', 'seq'])
@Index('audit_events_resource_idx', ['resourceType', 'resourceId', 'seq'])
@Index('audit_events_patient_ids_idx', { synchronize: false })
export class AuditEvent {
  /** The event's number, from a sequence at insert (gaps where a transaction rolled back). bigint, as a string. */
  @PrimaryColumn({ type: 'bigint' })
  seq: string;

  @Column({ type: 'timestamptz', precision: 3 })
  at: Date;

  @Column({ name: 'actor_id', type: 'uuid', nullable: true })
  actorId: string | null;

  @Column({ name: 'session_id', type: 'uuid', nullable: true })
  sessionId: string | null;

  @Column({ type: 'varchar', length: 32 })
  action: AuditAction;

  @Column({ name: 'resource_type', type: 'varchar', length: 16, nullable: true })
  resourceType: AuditResourceType | null;

  @Column({ name: 'resource_id', type: 'uuid', nullable: true })
  resourceId: string | null;

  /** The patient concerned (a patient's own events and its mappings'), for "who looked at this patient". */
  @Column({ name: 'patient_id', type: 'uuid', nullable: true })
  patientId: string | null;

  /** Every patient the event disclosed (a read, a create, each patient in a list): GIN-indexed, for "who saw patient X". */
  @Column({ name: 'patient_ids', type: 'uuid', array: true, nullable: true })
  patientIds: string[] | null;

  /** For a list: the ids it returned. */
  @Column({ name: 'result_ids', type: 'uuid', array: true, nullable: true })
  resultIds: string[] | null;

  /** The HTTP status the request ended with. */
  @Column({ type: 'smallint' })
  status: number;

  /** Why it was refused (not_found, not_admin, invalid_token...), or a prune's anchor. */
  @Column({ type: 'varchar', length: 200, nullable: true })
  reason: string | null;

  @Column({ name: 'request_id', type: 'varchar', length: 128, nullable: true })
  requestId: string | null;

  @Column({ name: 'client_ip', type: 'varchar', length: 64, nullable: true })
  clientIp: string | null;

  @Column({ name: 'user_agent', type: 'varchar', length: 512, nullable: true })
  userAgent: string | null;

  /** How many events the row stands for: 1, or a minute's refusals of one client IP on one route (RefusalWriter). */
  @Column({ type: 'integer', default: 1 })
  count: number;

  /** For a refusal: the route's pattern (`GET /api/patients/:id`). Added by migrations/1796290200000-AuditRefusalCounts. */
  @Column({ type: 'varchar', length: 128, nullable: true })
  route: string | null;

}

/** One link of the hash chain: the event sealed at this position. Appended by audit_seal() only. */
@Entity({ name: 'audit_chain' })
@Unique('audit_chain_event_unique', ['eventSeq'])
@Check('audit_chain_kind_check', `kind IN ('event', 'missing', 'rolled_back', 'acknowledged')`)
export class AuditChainLink {
  /** 1, 2, 3... in the order events were sealed. */
  @PrimaryColumn({ type: 'bigint' })
  position: string;

  @Column({ name: 'event_seq', type: 'bigint' })
  eventSeq: string;

  @Column({ name: 'prev_hash', type: 'bytea' })
  prevHash: Buffer;

  @Column({ type: 'bytea' })
  hash: Buffer;

  /**
   * 'event', or a number without one: 'missing' (this app saw it committed and found it deleted before it
   * could be sealed: evidence), 'rolled_back' (a write that rolled back took it) or 'acknowledged' (an
   * operator acknowledged it lost to a crash: migrations/1796290500000-AuditAcknowledgedGaps).
   */
  @Column({ type: 'varchar', length: 16, default: 'event' })
  kind: 'event' | 'missing' | 'rolled_back' | 'acknowledged';
}

/** Events written but not sealed yet (a fraction of a second). Added by the insert trigger, removed by audit_seal(). */
@Entity({ name: 'audit_pending' })
export class AuditPending {
  @PrimaryColumn({ type: 'bigint' })
  seq: string;
}

/** The chain's last link (seq is its position), moved by audit_seal() only. */
@Entity({ name: 'audit_chain_head' })
@Check('audit_chain_head_single', 'id = 1')
export class AuditChainHead {
  @PrimaryColumn({ type: 'smallint' })
  id: number;

  @Column({ type: 'bigint' })
  seq: string;

  @Column({ type: 'bytea' })
  hash: Buffer;

  /** The first position whose link is keyed (HMAC); the links before it are the unkeyed sha256 of earlier versions. Never changes. */
  @Column({ name: 'keyed_from', type: 'bigint' })
  keyedFrom: string;

  /** Event numbers from here on are each accounted for (an event, or a link saying why there is none); a prune moves it forward. */
  @Column({ name: 'counted_from', type: 'bigint' })
  countedFrom: string;
}
