import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager, type ObjectLiteral, type SelectQueryBuilder } from 'typeorm';
import { applyKeyset, type PageRequest, type SortField } from '../common/pagination/keyset-query.js';
import { PreparedSql } from '../database/prepared-sql.js';
import type { EventRow } from './audit-chain.js';

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
        v.patientIds,
        v.resultIds,
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
    return (await this.pageQuery(filter, page).getRawMany()) as EventRow[];
  }
}
