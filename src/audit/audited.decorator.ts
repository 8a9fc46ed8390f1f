import { SetMetadata } from '@nestjs/common';
import type { AuditAction, AuditResourceType } from './audit-event.entity.js';

export interface AuditSpec {
  resource: AuditResourceType;
  action: AuditAction;
}

export const AUDITED = 'audited';

/**
 * Every call of this route writes one audit event. Reads and lists are
 * recorded by AuditInterceptor once the data is ready (no event, no data);
 * writes by their service, in the transaction of the change; a refusal by the
 * interceptor (or the guard that refused).
 */
export const Audited = (resource: AuditResourceType, action: AuditAction) => SetMetadata(AUDITED, { resource, action });
