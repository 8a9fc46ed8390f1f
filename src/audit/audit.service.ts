import { Injectable, Logger, ServiceUnavailableException } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { type AuditRequestContext, auditContext } from './audit-context.js';
import { type ChainRow, type EventRow, GENESIS_HASH, parsePruneAnchor, pruneAnchor, rowHash } from './audit-chain.js';
import type { AuditAction, AuditResourceType } from './audit-event.entity.js';
import type { AuditEventDto } from './dto/audit-event-response.dto.js';
import type { ListAuditEventsDto } from './dto/list-audit-events.dto.js';
import { PreparedSql } from '../database/prepared-sql.js';
import { CursorCodec, type PageCaller, type PageDto, pageRequest, parseOrdering, type SortField } from '../common/pagination.js';
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
  /** Links checked. */
  checked: number;
  /** The chain's first and last positions checked. */
  first: string | null;
  last: string | null;
  /** Events written but not sealed into the chain yet (a fraction of a second's worth in normal running). */
  pending: number;
  /** The first link that does not hold. */
  broken?: { position: string; problem: string };
}

const VERIFY_BATCH = 5000;
/** Events sealed per audit_seal() call. */
export const SEAL_BATCH = 5000;
const SEQ_ORDER: Record<string, SortField> = { seq: { column: 'seq', property: 'seq', kind: 'string' } };
const NIL_UUID = '00000000-0000-0000-0000-000000000000';

function toAuditEventDto(row: EventRow): AuditEventDto {
  return {
    seq: row.seq,
    chain_position: row.chain_position,
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
    hash: row.hash ? Buffer.from(row.hash).toString('hex') : null,
    prev_hash: row.prev_hash ? Buffer.from(row.prev_hash).toString('hex') : null,
  };
}

/**
 * Writes the audit trail and checks it. Rows carry ids only (never names,
 * ages or addresses). An insert is numbered and stamped by the database and
 * queued; audit_seal() (run by AuditSealer) chains the queued events in
 * batches, off the request path. See migrations/1764300000000-AuditSealing.
 */
@Injectable()
export class AuditService {
  private readonly logger = new Logger(AuditService.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly cursors: CursorCodec,
    private readonly sql: PreparedSql,
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
    // On every audited request: a prepared statement (parsed and planned once per connection).
    await this.sql.query(
      `INSERT INTO audit_events
         (actor_id, session_id, action, resource_type, resource_id, patient_id, result_ids, status, reason,
          request_id, client_ip, user_agent)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
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
      manager,
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
  async list(caller: PageCaller, query: ListAuditEventsDto, url: URL): Promise<PageDto<AuditEventDto>> {
    const page = pageRequest(query, parseOrdering(undefined, SEQ_ORDER, '-seq'), this.cursors, 'audit-events', caller);
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (query.actor) add('e.actor_id = ?', query.actor);
    if (query.patient) add('e.patient_id = ?', query.patient);
    if (query.resource_type) add('e.resource_type = ?', query.resource_type);
    if (query.resource_id) add('e.resource_id = ?', query.resource_id);
    if (query.action) add('e.action = ?', query.action);
    if (query.status !== undefined) add('e.status = ?', query.status);
    if (query.since) add('e.at >= ?', new Date(query.since));
    if (query.until) add('e.at < ?', new Date(query.until));
    const backwards = page.cursor?.r === true;
    if (page.cursor) {
      if (typeof page.cursor.v !== 'string' || !/^\d{1,19}$/.test(page.cursor.v)) {
        throw new ValidationFailedException({ cursor: ['cursor is invalid'] });
      }
      add(backwards ? 'e.seq > ?' : 'e.seq < ?', page.cursor.v);
    }
    params.push(page.pageSize + 1);
    const rows = (await this.dataSource.query(
      `SELECT e.seq, e.at, e.actor_id, e.session_id, e.action, e.resource_type, e.resource_id, e.patient_id, e.result_ids,
              e.status, e.reason, e.request_id, e.client_ip, e.user_agent, c.position AS chain_position, c.prev_hash, c.hash
         FROM audit_events e LEFT JOIN audit_chain c ON c.event_seq = e.seq
        ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY e.seq ${backwards ? 'ASC' : 'DESC'} LIMIT $${params.length}`,
      params,
    )) as EventRow[];
    const hasMore = rows.length > page.pageSize;
    if (hasMore) rows.pop();
    if (backwards) rows.reverse();
    const link = (row: EventRow | undefined, reverse: boolean) => {
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

  /**
   * Chains the pending events (up to SEAL_BATCH per call, in seq order);
   * returns how many. Another instance sealing at the same moment makes this
   * call return 0 rather than wait.
   */
  async seal(): Promise<number> {
    const [{ sealed }] = (await this.dataSource.query(`SELECT audit_seal($1) AS sealed`, [SEAL_BATCH])) as Array<{ sealed: number }>;
    return sealed;
  }

  /**
   * Seals until nothing committed is pending (what audit-verify does first).
   * While another sealer holds the chain (this instance's background one, or
   * another instance's), waits for it rather than return early.
   */
  async sealAll(): Promise<number> {
    let total = 0;
    for (;;) {
      const sealed = await this.seal();
      total += sealed;
      if (sealed === SEAL_BATCH) continue;
      const [{ pending }] = (await this.dataSource.query(`SELECT count(*)::int AS pending FROM audit_pending`)) as Array<{
        pending: number;
      }>;
      if (pending === 0) return total;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /**
   * Recomputes every link of the chain, oldest first, against the events it
   * points to; reports the first one that does not hold, and any event that
   * is in neither the chain nor the queue (written with the triggers off).
   */
  async verify(): Promise<VerifyResult> {
    // One snapshot for the whole check: a sealer committing meanwhile (this instance's or another's)
    // must not look like links missing after the head.
    return this.dataSource.transaction('REPEATABLE READ', async (m) => {
      await m.query('SET TRANSACTION READ ONLY');
      return this.verifyIn(m);
    });
  }

  private async verifyIn(m: EntityManager): Promise<VerifyResult> {
    const [head] = (await m.query(`SELECT seq, hash FROM audit_chain_head WHERE id = 1`)) as Array<{
      seq: string;
      hash: Buffer;
    }>;
    const [{ pending }] = (await m.query(`SELECT count(*)::int AS pending FROM audit_pending`)) as Array<{
      pending: number;
    }>;
    let previous: ChainRow | null = null;
    let expectedPrev: Buffer | null = null;
    let checked = 0;
    let first: string | null = null;
    let after = '0';
    const result = (broken?: VerifyResult['broken']): VerifyResult => ({
      ok: !broken,
      checked,
      first,
      last: previous?.chain_position ?? null,
      pending,
      ...(broken ? { broken } : {}),
    });

    for (;;) {
      const rows = (await m.query(
        `SELECT c.position AS chain_position, c.prev_hash, c.hash, e.seq, e.at, e.actor_id, e.session_id, e.action,
                e.resource_type, e.resource_id, e.patient_id, e.result_ids, e.status, e.reason, e.request_id, e.client_ip,
                e.user_agent
           FROM audit_chain c LEFT JOIN audit_events e ON e.seq = c.event_seq
          WHERE c.position > $1 ORDER BY c.position LIMIT ${VERIFY_BATCH}`,
        [after],
      )) as ChainRow[];
      if (rows.length === 0) break;
      for (const row of rows) {
        const position = row.chain_position;
        // pg returns bytea as a Buffer, PGlite as a Uint8Array.
        row.prev_hash = Buffer.from(row.prev_hash);
        row.hash = Buffer.from(row.hash);
        if (previous === null) {
          first = position;
          expectedPrev = position === '1' ? GENESIS_HASH : await this.pruneAnchorFor(m, BigInt(position) - 1n);
          if (!expectedPrev) return result({ position, problem: 'earlier links are missing and no prune accounts for them' });
        } else if (BigInt(position) !== BigInt(previous.chain_position) + 1n) {
          return result({
            position,
            problem: `links ${BigInt(previous.chain_position) + 1n}..${BigInt(position) - 1n} are missing`,
          });
        }
        if (row.seq === null) return result({ position, problem: 'the event this link seals is missing' });
        if (!row.prev_hash.equals(expectedPrev as Buffer)) {
          return result({ position, problem: 'prev_hash does not match the previous link' });
        }
        if (!rowHash(row).equals(row.hash)) {
          return result({ position, problem: 'the event was altered: the hash does not match its content' });
        }
        expectedPrev = row.hash;
        previous = row;
        checked++;
      }
      after = rows[rows.length - 1].chain_position;
    }
    if (head && previous === null && head.seq !== '0' && !(await this.pruneAnchorFor(m, BigInt(head.seq)))) {
      return result({ position: head.seq, problem: `links 1..${head.seq} are missing and no prune accounts for them` });
    }
    if (head && previous !== null && head.seq !== previous.chain_position) {
      return result({ position: head.seq, problem: `the newest links after ${previous?.chain_position} are missing` });
    }
    if (head && previous && !Buffer.from(head.hash).equals(previous.hash)) {
      return result({ position: previous.chain_position, problem: 'the chain head does not match the newest link' });
    }
    const [outside] = (await m.query(
      `SELECT e.seq FROM audit_events e
        WHERE NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.event_seq = e.seq)
          AND NOT EXISTS (SELECT 1 FROM audit_pending p WHERE p.seq = e.seq)
        ORDER BY e.seq LIMIT 1`,
    )) as Array<{ seq: string }>;
    if (outside) return result({ position: '-', problem: `event ${outside.seq} is neither sealed nor queued for sealing` });
    const [lost] = (await m.query(
      `SELECT p.seq FROM audit_pending p WHERE NOT EXISTS (SELECT 1 FROM audit_events e WHERE e.seq = p.seq) ORDER BY p.seq LIMIT 1`,
    )) as Array<{ seq: string }>;
    if (lost) return result({ position: '-', problem: `event ${lost.seq} was queued for sealing and is missing` });
    return result();
  }

  /**
   * Deletes the events older than `retentionDays` (HIPAA keeps six years):
   * the longest prefix of the chain whose events are all that old, with their
   * links, in one transaction that announces itself to the append-only
   * triggers; then records the prune as an event carrying the position and
   * hash of the last removed link, so the chain stays verifiable from the
   * first remaining one.
   */
  async prune(retentionDays: number): Promise<{ removed: number; throughPosition: string | null }> {
    return this.dataSource.transaction(async (manager) => {
      const [{ before }] = (await manager.query(`SELECT now() - make_interval(days => $1) AS before`, [retentionDays])) as Array<{
        before: Date;
      }>;
      // The first link whose event is recent enough to keep; everything before it goes.
      const [kept] = (await manager.query(
        `SELECT c.position FROM audit_chain c JOIN audit_events e ON e.seq = c.event_seq
          WHERE e.at >= $1 ORDER BY c.position LIMIT 1`,
        [before],
      )) as Array<{ position: string }>;
      const [last] = (await manager.query(
        `SELECT position, hash FROM audit_chain ${kept ? 'WHERE position < $1' : ''} ORDER BY position DESC LIMIT 1`,
        kept ? [kept.position] : [],
      )) as Array<{ position: string; hash: Buffer }>;
      if (!last) {
        await this.record({ action: 'audit_pruned', status: 200, resourceType: 'audit_event', reason: 'nothing to prune' }, manager);
        return { removed: 0, throughPosition: null };
      }
      await manager.query(
        `SELECT set_config('hc.audit_prune_before', $1, true), set_config('hc.audit_prune_through', $2, true)`,
        [before.toISOString(), last.position],
      );
      const [, removed] = (await manager.query(
        `DELETE FROM audit_events WHERE seq IN (SELECT event_seq FROM audit_chain WHERE position <= $1)`,
        [last.position],
      )) as [unknown, number];
      await manager.query(`DELETE FROM audit_chain WHERE position <= $1`, [last.position]);
      await manager.query(`SELECT set_config('hc.audit_prune_before', '', true), set_config('hc.audit_prune_through', '', true)`);
      await this.record(
        {
          action: 'audit_pruned',
          status: 200,
          resourceType: 'audit_event',
          reason: pruneAnchor(last.position, Buffer.from(last.hash)),
        },
        manager,
      );
      return { removed, throughPosition: last.position };
    });
  }

  private async pruneAnchorFor(m: EntityManager, throughPosition: bigint): Promise<Buffer | null> {
    const rows = (await m.query(
      `SELECT reason FROM audit_events WHERE action = 'audit_pruned' AND reason LIKE $1 ORDER BY seq DESC LIMIT 1`,
      [`pruned-through:${throughPosition}:%`],
    )) as Array<{ reason: string }>;
    return rows[0] ? (parsePruneAnchor(rows[0].reason)?.hash ?? null) : null;
  }
}
