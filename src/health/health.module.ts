import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { DrainService } from './drain.service.js';
import { HealthController } from './health.controller.js';
import { ShutdownProgress } from './shutdown-progress.js';

@Module({
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController],
  providers: [DrainService, ShutdownProgress],
  exports: [DrainService, ShutdownProgress],
})
export class HealthModule {}
