import { AuditSealing1764300000000 } from './1764300000000-AuditSealing.js';
import { AuditRefusalCounts1796290200000 } from './1796290200000-AuditRefusalCounts.js';
import { AuditKeyedChain1796290400000 } from './1796290400000-AuditKeyedChain.js';
import { AuditAcknowledgedGaps1796290500000 } from './1796290500000-AuditAcknowledgedGaps.js';
import { AuditHeadPerStatement1796290600000 } from './1796290600000-AuditHeadPerStatement.js';
import { AuditTrail1764250000000 } from './1764250000000-AuditTrail.js';
import { InitialSchema1764160000000 } from './1764160000000-InitialSchema.js';
import { Mfa1796290300000 } from './1796290300000-Mfa.js';
import { RecordHistory1796290800000 } from './1796290800000-RecordHistory.js';
import { SoftDelete1796290900000 } from './1796290900000-SoftDelete.js';
import { IdempotencyKeys1796291000000 } from './1796291000000-IdempotencyKeys.js';
import { RecordVersions1796290700000 } from './1796290700000-RecordVersions.js';
import { RefreshGrace1796290100000 } from './1796290100000-RefreshGrace.js';
import { UsernameCanonical1796290000000 } from './1796290000000-UsernameCanonical.js';

/** Every migration, oldest first. An explicit list: no globbing, no __dirname (ESM). */
export const migrations = [
  InitialSchema1764160000000,
  AuditTrail1764250000000,
  AuditSealing1764300000000,
  UsernameCanonical1796290000000,
  RefreshGrace1796290100000,
  AuditRefusalCounts1796290200000,
  Mfa1796290300000,
  AuditKeyedChain1796290400000,
  AuditAcknowledgedGaps1796290500000,
  AuditHeadPerStatement1796290600000,
  RecordVersions1796290700000,
  RecordHistory1796290800000,
  SoftDelete1796290900000,
  IdempotencyKeys1796291000000,
];
