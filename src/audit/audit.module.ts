import { Global, Module } from '@nestjs/common';
import { AuditService } from './audit.service.js';

/** The audit trail, available to every module (they record their own events). */
@Global()
@Module({
  providers: [AuditService],
  exports: [AuditService],
})
export class AuditModule {}
