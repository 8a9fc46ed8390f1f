import { AuditChainHead, AuditChainLink, AuditEvent, AuditPending } from '../audit/audit-event.entity.js';
import { DoctorHistory, PatientHistory } from '../history/history.entity.js';
import { MfaFactor } from '../auth/mfa/mfa-factor.entity.js';
import { MfaRecoveryCode } from '../auth/mfa/mfa-recovery-code.entity.js';
import { Session } from '../auth/session.entity.js';
import { Doctor } from '../doctors/doctor.entity.js';
import { Mapping } from '../mappings/mapping.entity.js';
import { Patient } from '../patients/patient.entity.js';
import { User } from '../users/user.entity.js';

import { IdempotencyKey } from '../idempotency/idempotency-key.entity.js';

/** Every entity, listed explicitly (no globbing in ESM). */
export const entities = [User, Session, Patient, Doctor, Mapping, AuditEvent, AuditChainLink, AuditPending, AuditChainHead, MfaFactor, MfaRecoveryCode, PatientHistory, DoctorHistory, IdempotencyKey];
