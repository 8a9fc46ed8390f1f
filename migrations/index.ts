import { AuditSealing1764300000000 } from './1764300000000-AuditSealing.js';
import { AuditTrail1764250000000 } from './1764250000000-AuditTrail.js';
import { InitialSchema1764160000000 } from './1764160000000-InitialSchema.js';
import { Mfa1796287163000 } from './1796287163000-Mfa.js';

/** Every migration, oldest first. An explicit list: no globbing, no __dirname (ESM). */
export const migrations = [InitialSchema1764160000000, AuditTrail1764250000000, AuditSealing1764300000000, Mfa1796287163000];
