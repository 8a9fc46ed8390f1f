import { Global, Module } from '@nestjs/common';
import { PaginationModule } from '../common/pagination/pagination.module.js';
import { AdminAuditController } from './admin-audit.controller.js';
import { AuditSealer } from './audit-sealer.js';
import { AuditService } from './audit.service.js';

/** The audit trail, available to every module (they record their own events). */
@Global()
@Module({
  imports: [PaginationModule],
  controllers: [AdminAuditController],
  providers: [AuditService, AuditSealer],
  exports: [AuditService],
})
export class AuditModule {}
