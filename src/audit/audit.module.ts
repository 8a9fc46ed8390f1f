import { Global, Module } from '@nestjs/common';
import { PaginationModule } from '../common/pagination/pagination.module.js';
import { AppConfig } from '../config/app-config.js';
import { AdminAuditController } from './admin-audit.controller.js';
import { resolveAuditChainKeys } from './audit-chain-key.js';
import { AuditChainRepository } from './audit-chain.repository.js';
import { AUDIT_CHAIN_KEYS, AuditChainService } from './audit-chain.service.js';
import { AuditEventsRepository } from './audit-events.repository.js';
import { AuditSealer } from './audit-sealer.js';
import { AuditWitness } from './audit-witness.js';
import { AuditService } from './audit.service.js';

/**
 * The audit trail, available to every module (they record their own events):
 * AuditService records and lists, AuditChainService seals, verifies and
 * prunes the keyed chain, AuditSealer runs the sealing and the checkpoint log.
 */
@Global()
@Module({
  imports: [PaginationModule],
  controllers: [AdminAuditController],
  providers: [
    AuditService,
    AuditEventsRepository,
    AuditChainRepository,
    AuditChainService,
    AuditWitness,
    AuditSealer,
    {
      provide: AUDIT_CHAIN_KEYS,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => resolveAuditChainKeys(config.audit.chainKey, config.database.pgliteDataDir),
    },
  ],
  exports: [AuditService, AuditChainService, AuditWitness, AuditEventsRepository],
})
export class AuditModule {}
