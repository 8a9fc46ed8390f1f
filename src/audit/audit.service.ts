import { Injectable, Logger, ServiceUnavailableException } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { CursorCodec } from '../common/pagination/cursor-codec.js';
import { type PageCaller, pageRequest, parseOrdering } from '../common/pagination/keyset-query.js';
import { mapPage, type PageDto, pageOf } from '../common/pagination/page.dto.js';
import { ValidationFailedException } from '../common/problem.js';
import { type AuditRequestContext, auditContext } from './audit-context.js';
import type { EventRow } from './audit-chain.js';
import type { AuditAction, AuditResourceType } from './audit-event.entity.js';
import { AuditEventsRepository, type EventValues, SEQ_ORDER } from './audit-events.repository.js';
import { AuditWitness } from './audit-witness.js';
import { RefusalWriter } from './refusal-writer.js';
import type { AuditEventDto } from './dto/audit-event-response.dto.js';
import type { ListAuditEventsDto } from './dto/list-audit-events.dto.js';

export interface AuditEventInput {
  action: AuditAction;
  status: number;
  resourceType?: AuditResourceType | null;
  resourceId?: string | null;
  patientId?: string | null;
  /** Every patient the event disclosed (a list's patients); patientId is added to them. */
  patientIds?: string[] | null;
  resultIds?: string[] | null;
  reason?: string | null;
  /** Overrides the request's (e.g. a login names the user it logged in). */
  actorId?: string | null;
  sessionId?: string | null;
}

const bytes = (value: Uint8Array | null) => (value ? Buffer.from(value).toString('hex') : null);

function toAuditEventDto(row: EventRow): AuditEventDto {
  return {
    seq: row.seq,
    chain_position: row.chain_position,
    at: new Date(row.at).toISOString(),
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
    // pg returns bytea as a Buffer, PGlite as a Uint8Array.
    hash: bytes(row.hash),
    prev_hash: bytes(row.prev_hash),
  };
}

function patientsOf(input: AuditEventInput): string[] | null {
  const ids = new Set<string>();
  if (input.patientId) ids.add(input.patientId.toLowerCase());
  for (const id of input.patientIds ?? []) ids.add(id.toLowerCase());
  return ids.size ? [...ids] : null;
}

/**
 * Records the audit trail and lists it. Rows carry ids only (never names,
 * ages or addresses). An insert is numbered and stamped by the database and
 * queued; AuditChainService seals the queue into the keyed hash chain, off
 * the request path. Refusals, of every kind, are written by RefusalWriter.
 */
@Injectable()
export class AuditService {
  private readonly logger = new Logger(AuditService.name);

  constructor(
    private readonly events: AuditEventsRepository,
    private readonly witness: AuditWitness,
    private readonly cursors: CursorCodec,
    private readonly refusals: RefusalWriter,
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

  /**
   * Records a refusal (a 404 for someone else's record, a wrong password, a
   * wrong MFA code): one event, handed to the RefusalWriter, which writes it
   * within a second in a batch. Never fails or holds up the caller, and takes
   * no connection from the request pool (issue 11, item 1): a refusal returns
   * no data to protect.
   */
  recordRefusal(input: AuditEventInput & { reason: string }, context?: AuditRequestContext): void {
    this.refusals.refusedEvent(input, context ?? auditContext.getStore());
  }

  private async insert(input: AuditEventInput, manager: EntityManager | undefined, ctx: AuditRequestContext | undefined) {
    const values: EventValues = {
      actorId: input.actorId !== undefined ? input.actorId : (ctx?.actorId ?? null),
      sessionId: input.sessionId !== undefined ? input.sessionId : (ctx?.sessionId ?? null),
      action: input.action,
      resourceType: input.resourceType ?? null,
      resourceId: input.resourceId ?? null,
      patientId: input.patientId ?? null,
      patientIds: patientsOf(input),
      resultIds: input.resultIds ?? null,
      status: input.status,
      reason: input.reason ?? null,
      requestId: ctx?.requestId ?? null,
      clientIp: ctx?.clientIp ?? null,
      userAgent: ctx?.userAgent ?? null,
    };
    // The witness keeps the number until it is sealed: a deleted or rolled-back event is then accounted for.
    this.witness.written(await this.events.insertEvent(values, manager), manager);
  }

  /** The trail for admins, newest first, one keyset page (seq) at a time. */
  async list(caller: PageCaller, query: ListAuditEventsDto, url: URL): Promise<PageDto<AuditEventDto>> {
    const page = pageRequest(query, parseOrdering(undefined, SEQ_ORDER, '-seq'), this.cursors, 'audit-events', caller);
    if (page.cursor && (typeof page.cursor.v !== 'string' || !/^\d{1,19}$/.test(page.cursor.v))) {
      throw new ValidationFailedException({ cursor: ['cursor is invalid'] });
    }
    const rows = await this.events.listPage(
      {
        actor: query.actor,
        patient: query.patient,
        resourceType: query.resource_type,
        resourceId: query.resource_id,
        action: query.action,
        status: query.status,
        since: query.since ? new Date(query.since) : undefined,
        until: query.until ? new Date(query.until) : undefined,
      },
      page,
    );
    return mapPage(pageOf(rows, page, url, this.cursors), toAuditEventDto);
  }
}
