import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager, type ObjectLiteral, type SelectQueryBuilder } from 'typeorm';
import { applyKeyset, type PageRequest, type SortField } from '../common/pagination/keyset-query.js';
import { isUuid } from '../common/params.js';
import { PreparedSql } from '../database/prepared-sql.js';
import type { EventRow } from './audit-chain.js';
import type { AuditAction, AuditResourceType } from './audit-event.entity.js';

/** What the app writes; seq and at come from the stamp trigger. */
export interface EventValues {
  actorId: string | null;
  sessionId: string | null;
  action: string;
  resourceType: string | null;
  resourceId: string | null;
  patientId: string | null;
  patientIds: string[] | null;
  resultIds: string[] | null;
  status: number;
  reason: string | null;
  requestId: string | null;
  clientIp: string | null;
  userAgent: string | null;
}

/** A refusal row as RefusalWriter batches it: `count` > 1 for a minute's anonymous refusals of one client and route. */
export interface RefusalValues {
  action: AuditAction;
  resourceType: AuditResourceType | null;
  resourceId: string | null;
  patientId: string | null;
  /** Every patient the refused request named (patientId among them), or null. */
  patientIds: string[] | null;
  actorId: string | null;
  sessionId: string | null;
  status: number;
  reason: string;
  requestId: string | null;
  clientIp: string | null;
  userAgent: string | null;
  route: string | null;
  count: number;
}

/** One statement for any batch size (arrays, not a VALUES list built per call). */
const INSERT_REFUSALS = `
  INSERT INTO audit_events
    (action, resource_type, resource_id, patient_id, patient_ids,
     actor_id, session_id, status, reason, request_id, client_ip, user_agent, route, count)
  SELECT u.action, u.resource_type, u.resource_id, u.patient_id, u.patient_ids::uuid[],
         u.actor_id, u.session_id, u.status, u.reason, u.request_id, u.client_ip, u.user_agent, u.route, u.count
    FROM unnest($1::text[], $2::text[], $3::uuid[], $4::uuid[], $5::text[],
                $6::uuid[], $7::uuid[], $8::smallint[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::integer[])
      AS u(action, resource_type, resource_id, patient_id, patient_ids,
           actor_id, session_id, status, reason, request_id, client_ip, user_agent, route, count)
  RETURNING seq`;

/** uuid[] per row travels as its text form ('{a,b}'): unnest cannot take an array of arrays of different lengths. */
const arrayLiteral = (ids: string[] | null) => (ids && ids.length ? `{${ids.join(',')}}` : null);

/**
 * An id list as a uuid[] parameter: its text form when every element is a
 * uuid (nothing to quote; the driver's array encoder quotes and escapes each
 * element, a measurable cost on every list's event), else the array itself,
 * for the driver to encode and the database to refuse.
 */
function uuidList(ids: string[] | null): string | string[] | null {
  if (ids === null) return null;
  for (const id of ids) if (!isUuid(id)) return ids;
  return `{${ids.join(',')}}`;
}

export interface EventFilter {
  actor?: string;
  /** Any event that disclosed this patient: its own, and every list it appeared in (GIN index on patient_ids). */
  patient?: string;
  resourceType?: string;
  resourceId?: string;
  action?: string;
  status?: number;
  since?: Date;
  until?: Date;
}

const EVENT_COLUMNS = [
  'seq',
  'at',
  'actor_id',
  'session_id',
  'action',
  'resource_type',
  'resource_id',
  'patient_id',
  'patient_ids',
  'result_ids',
  'status',
  'reason',
  'request_id',
  'client_ip',
  'user_agent',
  'count',
  'route',
] as const;

/** The one ordering of the trail: by seq (unique), newest first by default. */
export const SEQ_ORDER: Record<string, SortField> = { seq: { column: 'seq', property: 'seq', kind: 'string', unique: true } };

/** audit_events: the only place with its SQL. The app may only INSERT and SELECT here (see db-roles). */
@Injectable()
export class AuditEventsRepository {
  constructor(
    private readonly dataSource: DataSource,
    private readonly sql: PreparedSql,
  ) {}

  /**
   * Writes a batch of refusals in one transaction on one connection of the
   * pool, held only for it. `taken` gets each number with the transaction's
   * manager (AuditWitness: when it does not commit, the sealer marks them
   * rolled_back and audit-verify sees no gap). Writes; never in a request's transaction.
   */
  async insertRefusals(rows: RefusalValues[], taken?: (seq: string, manager: EntityManager) => void): Promise<void> {
    if (rows.length === 0) return;
    const column = <K extends keyof RefusalValues>(key: K) => rows.map((row) => row[key]);
    await this.dataSource.transaction(async (m) => {
      const numbers = (await m.query(INSERT_REFUSALS, [
        column('action'),
        column('resourceType'),
        column('resourceId'),
        column('patientId'),
        rows.map((row) => arrayLiteral(row.patientIds)),
        column('actorId'),
        column('sessionId'),
        column('status'),
        column('reason'),
        column('requestId'),
        column('clientIp'),
        column('userAgent'),
        column('route'),
        column('count'),
      ])) as Array<{ seq: string }>;
      for (const { seq } of numbers) taken?.(String(seq), m);
    });
  }

  /** Inserts one event (in `manager`'s transaction when given) and returns its number. */
  async insertEvent(v: EventValues, manager?: EntityManager): Promise<string> {
    // On every audited request: a prepared statement (parsed and planned once per connection).
    const [row] = await this.sql.query<{ seq: string }>(
      `INSERT INTO audit_events
         (actor_id, session_id, action, resource_type, resource_id, patient_id, patient_ids, result_ids, status, reason,
          request_id, client_ip, user_agent)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING seq`,
      [
        v.actorId,
        v.sessionId,
        v.action,
        v.resourceType,
        v.resourceId,
        v.patientId,
        uuidList(v.patientIds),
        uuidList(v.resultIds),
        v.status,
        v.reason,
        v.requestId,
        v.clientIp,
        v.userAgent,
      ],
      manager,
    );
    return String(row.seq);
  }

  /** The query of one page of events with their links (also what test/audit.e2e.spec.ts EXPLAINs). */
  pageQuery(filter: EventFilter, page: PageRequest): SelectQueryBuilder<ObjectLiteral> {
    const qb = this.dataSource
      .createQueryBuilder()
      .from('audit_events', 'e')
      .leftJoin('audit_chain', 'c', 'c.event_seq = e.seq')
      .select(EVENT_COLUMNS.map((column) => `e.${column} AS "${column}"`))
      .addSelect(['c.position AS "chain_position"', 'c.prev_hash AS "prev_hash"', 'c.hash AS "hash"']);
    if (filter.actor) qb.andWhere('e.actor_id = :actor', { actor: filter.actor });
    // The GIN index on patient_ids: every event that disclosed the patient, lists included.
    if (filter.patient) qb.andWhere('e.patient_ids @> ARRAY[CAST(:patient AS uuid)]', { patient: filter.patient });
    if (filter.resourceType) qb.andWhere('e.resource_type = :resourceType', { resourceType: filter.resourceType });
    if (filter.resourceId) qb.andWhere('e.resource_id = :resourceId', { resourceId: filter.resourceId });
    if (filter.action) qb.andWhere('e.action = :action', { action: filter.action });
    if (filter.status !== undefined) qb.andWhere('e.status = :status', { status: filter.status });
    if (filter.since) qb.andWhere('e.at >= :since', { since: filter.since });
    if (filter.until) qb.andWhere('e.at < :until', { until: filter.until });
    return applyKeyset(qb, 'e', page);
  }

  /** One keyset page (up to pageSize + 1 rows, in SQL order: see pageOf). */
  async listPage(filter: EventFilter, page: PageRequest): Promise<EventRow[]> {
    // May be slightly stale, as every admin list: on a replica when one may serve it (PreparedSql.read).
    const [text, values] = this.pageQuery(filter, page).getQueryAndParameters();
    return this.sql.read<EventRow>(text, values, false);
  }
}
