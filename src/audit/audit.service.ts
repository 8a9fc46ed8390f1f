import { Injectable, Logger, ServiceUnavailableException } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { type AuditRequestContext, auditContext } from './audit-context.js';
import { type ChainRow, GENESIS_HASH, parsePruneAnchor, pruneAnchor, rowHash } from './audit-chain.js';
import type { AuditAction, AuditResourceType } from './audit-event.entity.js';
import type { AuditEventDto } from './dto/audit-event-response.dto.js';
import type { ListAuditEventsDto } from './dto/list-audit-events.dto.js';
import { CursorCodec, type PageDto, pageRequest, parseOrdering, type SortField } from '../common/pagination.js';
import { ValidationFailedException } from '../common/problem.js';

export interface AuditEventInput {
  action: AuditAction;
  status: number;
  resourceType?: AuditResourceType | null;
  resourceId?: string | null;
  patientId?: string | null;
  resultIds?: string[] | null;
  reason?: string | null;
  /** Overrides the request's (e.g. a login names the user it logged in). */
  actorId?: string | null;
  sessionId?: string | null;
}

export interface VerifyResult {
  ok: boolean;
  checked: number;
  firstSeq: string | null;
  lastSeq: string | null;
  /** The first link that does not hold. */
  broken?: { seq: string; problem: string };
}

const VERIFY_BATCH = 5000;
const SEQ_ORDER: Record<string, SortField> = { seq: { column: 'seq', kind: 'string' } };
const NIL_UUID = '00000000-0000-0000-0000-000000000000';

function toAuditEventDto(row: ChainRow): AuditEventDto {
  return {
    seq: row.seq,
    at: row.at.toISOString(),
    actor_id: row.actor_id,
    session_id: row.session_id,
    action: row.action as AuditEventDto['action'],
    resource_type: row.resource_type as AuditEventDto['resource_type'],
    resource_id: row.resource_id,
    patient_id: row.patient_id,
    result_ids: row.result_ids,
    status: row.status,
    reason: row.reason,
    request_id: row.request_id,
    client_ip: row.client_ip,
    user_agent: row.user_agent,
    hash: Buffer.from(row.hash).toString('hex'),
    prev_hash: Buffer.from(row.prev_hash).toString('hex'),
  };
}

/**
 * Writes the audit trail and checks it. Rows carry ids only (never names,
 * ages or addresses) and are chained by the database trigger; see
 * migrations/1764250000000-AuditTrail.
 */
@Injectable()
export class AuditService {
  private readonly logger = new Logger(AuditService.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly cursors: CursorCodec,
  ) {}

  /**
   * Inserts one event: in `manager`'s transaction when given (a write and
   * its event commit or roll back together), else on its own. Throws when
   * it cannot be written; callers fail the request (fail closed).
   */
  async record(input: AuditEventInput, manager?: EntityManager, context?: AuditRequestContext): Promise<void> {
    const ctx = context ?? auditContext.getStore();
    try {
      await this.insert(input, manager, ctx);
    } catch (error) {
      this.logger.error({ err: { message: (error as Error).message }, action: input.action }, 'audit event not written');
      // Fail closed: the request fails (and a write's transaction rolls back) rather than go unrecorded.
      throw new ServiceUnavailableException({
        message: 'The audit trail cannot be written right now, so the request was not carried out; try again shortly.',
        retryAfter: 2,
      });
    }
  }

  private async insert(input: AuditEventInput, manager: EntityManager | undefined, ctx: AuditRequestContext | undefined) {
    await (manager ?? this.dataSource.manager).query(
      `INSERT INTO audit_events
         (actor_id, session_id, action, resource_type, resource_id, patient_id, result_ids, status, reason,
          request_id, client_ip, user_agent, prev_hash, hash)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, '', '')`,
      [
        input.actorId !== undefined ? input.actorId : (ctx?.actorId ?? null),
        input.sessionId !== undefined ? input.sessionId : (ctx?.sessionId ?? null),
        input.action,
        input.resourceType ?? null,
        input.resourceId ?? null,
        input.patientId ?? null,
        input.resultIds ?? null,
        input.status,
        input.reason ?? null,
        ctx?.requestId ?? null,
        ctx?.clientIp ?? null,
        ctx?.userAgent ?? null,
      ],
    );
  }

  /** Records an event without failing the caller: for refusals, which return no data to protect. */
  async recordQuietly(input: AuditEventInput, context?: AuditRequestContext): Promise<void> {
    try {
      await this.insert(input, undefined, context ?? auditContext.getStore());
    } catch (error) {
      this.logger.error({ err: { message: (error as Error).message }, action: input.action }, 'audit event not written');
    }
  }

  /** The trail for admins, newest first, one keyset page (seq) at a time. */
  async list(query: ListAuditEventsDto, url: URL): Promise<PageDto<AuditEventDto>> {
    const page = pageRequest(query, parseOrdering(undefined, SEQ_ORDER, '-seq'), this.cursors, 'audit-events');
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (query.actor) add('actor_id = ?', query.actor);
    if (query.patient) add('patient_id = ?', query.patient);
    if (query.resource_type) add('resource_type = ?', query.resource_type);
    if (query.resource_id) add('resource_id = ?', query.resource_id);
    if (query.action) add('action = ?', query.action);
    if (query.status !== undefined) add('status = ?', query.status);
    if (query.since) add('at >= ?', new Date(query.since));
    if (query.until) add('at < ?', new Date(query.until));
    const backwards = page.cursor?.r === true;
    if (page.cursor) {
      if (typeof page.cursor.v !== 'string' || !/^\d{1,19}$/.test(page.cursor.v)) {
        throw new ValidationFailedException({ cursor: ['cursor is invalid'] });
      }
      add(backwards ? 'seq > ?' : 'seq < ?', page.cursor.v);
    }
    params.push(page.pageSize + 1);
    const rows = (await this.dataSource.query(
      `SELECT seq, at, actor_id, session_id, action, resource_type, resource_id, patient_id, result_ids, status,
              reason, request_id, client_ip, user_agent, prev_hash, hash
         FROM audit_events ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY seq ${backwards ? 'ASC' : 'DESC'} LIMIT $${params.length}`,
      params,
    )) as ChainRow[];
    const hasMore = rows.length > page.pageSize;
    if (hasMore) rows.pop();
    if (backwards) rows.reverse();
    const link = (row: ChainRow | undefined, reverse: boolean) => {
      if (!row) return null;
      const next = new URL(url);
      next.searchParams.set('cursor', this.cursors.encode({ v: row.seq, i: NIL_UUID, r: reverse }, page.scope));
      return next.toString();
    };
    const hasNext = backwards ? true : hasMore;
    const hasPrevious = backwards ? hasMore : page.cursor !== undefined;
    return {
      next: hasNext ? link(rows[rows.length - 1], false) : null,
      previous: hasPrevious ? link(rows[0], true) : null,
      results: rows.map(toAuditEventDto),
    };
  }

  /** Recomputes every link of the chain, oldest first; reports the first one that does not hold. */
  async verify(): Promise<VerifyResult> {
    const [head] = (await this.dataSource.query(`SELECT seq, hash FROM audit_chain_head WHERE id = 1`)) as Array<{
      seq: string;
      hash: Buffer;
    }>;
    let previous: ChainRow | null = null;
    let expectedPrev: Buffer | null = null;
    let checked = 0;
    let firstSeq: string | null = null;
    let afterSeq = '0';
    const result = (broken?: VerifyResult['broken']): VerifyResult => ({
      ok: !broken,
      checked,
      firstSeq,
      lastSeq: previous?.seq ?? null,
      ...(broken ? { broken } : {}),
    });

    for (;;) {
      const rows = (await this.dataSource.query(
        `SELECT seq, at, actor_id, session_id, action, resource_type, resource_id, patient_id, result_ids, status,
                reason, request_id, client_ip, user_agent, prev_hash, hash
           FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT ${VERIFY_BATCH}`,
        [afterSeq],
      )) as ChainRow[];
      if (rows.length === 0) break;
      for (const row of rows) {
        // pg returns bytea as a Buffer, PGlite as a Uint8Array.
        row.prev_hash = Buffer.from(row.prev_hash);
        row.hash = Buffer.from(row.hash);
        if (previous === null) {
          firstSeq = row.seq;
          expectedPrev = row.seq === '1' ? GENESIS_HASH : await this.pruneAnchorFor(BigInt(row.seq) - 1n);
          if (!expectedPrev) return result({ seq: row.seq, problem: 'earlier rows are missing and no prune accounts for them' });
        } else if (BigInt(row.seq) !== BigInt(previous.seq) + 1n) {
          return result({ seq: row.seq, problem: `rows ${BigInt(previous.seq) + 1n}..${BigInt(row.seq) - 1n} are missing` });
        }
        if (!row.prev_hash.equals(expectedPrev as Buffer)) {
          return result({ seq: row.seq, problem: 'prev_hash does not match the previous row' });
        }
        if (!rowHash(row).equals(row.hash)) {
          return result({ seq: row.seq, problem: 'the row was altered: its hash does not match its content' });
        }
        expectedPrev = row.hash;
        previous = row;
        checked++;
      }
      afterSeq = rows[rows.length - 1].seq;
    }
    if (head && head.seq !== (previous?.seq ?? head.seq)) {
      return result({ seq: head.seq, problem: `the newest rows after ${previous?.seq} are missing` });
    }
    if (head && previous && !Buffer.from(head.hash).equals(previous.hash)) {
      return result({ seq: previous.seq, problem: 'the chain head does not match the newest row' });
    }
    return result();
  }

  /**
   * Deletes the events older than `retentionDays` (HIPAA keeps six years),
   * in one transaction that announces itself to the append-only trigger, and
   * records the prune as an event carrying the hash of the last removed row,
   * so the chain stays verifiable from the first remaining row.
   */
  async prune(retentionDays: number): Promise<{ removed: number; throughSeq: string | null }> {
    return this.dataSource.transaction(async (manager) => {
      const [{ before }] = (await manager.query(`SELECT now() - make_interval(days => $1) AS before`, [retentionDays])) as Array<{
        before: Date;
      }>;
      await manager.query(`SELECT set_config('hc.audit_prune_before', $1, true)`, [before.toISOString()]);
      const [last] = (await manager.query(
        `SELECT seq, hash FROM audit_events WHERE at < $1 ORDER BY seq DESC LIMIT 1`,
        [before],
      )) as Array<{ seq: string; hash: Buffer }>;
      if (!last) {
        await manager.query(`SELECT set_config('hc.audit_prune_before', '', true)`);
        await this.record({ action: 'audit_pruned', status: 200, resourceType: 'audit_event', reason: 'nothing to prune' }, manager);
        return { removed: 0, throughSeq: null };
      }
      // Only a prefix of the chain: everything up to the newest expired row.
      const [, removed] = (await manager.query(`DELETE FROM audit_events WHERE seq <= $1`, [last.seq])) as [unknown, number];
      await manager.query(`SELECT set_config('hc.audit_prune_before', '', true)`);
      await this.record(
        { action: 'audit_pruned', status: 200, resourceType: 'audit_event', reason: pruneAnchor(last.seq, Buffer.from(last.hash)) },
        manager,
      );
      return { removed, throughSeq: last.seq };
    });
  }

  private async pruneAnchorFor(throughSeq: bigint): Promise<Buffer | null> {
    const rows = (await this.dataSource.query(
      `SELECT reason FROM audit_events WHERE action = 'audit_pruned' AND reason LIKE $1 ORDER BY seq DESC LIMIT 1`,
      [`pruned-through:${throughSeq}:%`],
    )) as Array<{ reason: string }>;
    return rows[0] ? (parsePruneAnchor(rows[0].reason)?.hash ?? null) : null;
  }
}
