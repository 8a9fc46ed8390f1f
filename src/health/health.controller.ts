import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, type HealthCheckResult, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ApiProblems } from '../common/api-docs.js';
import { Public } from '../auth/public.decorator.js';
import { WithoutDatabase } from '../database/database-ready.guard.js';
import { isDatabaseReady } from '../database/database-startup.js';
import { ReplicaSet } from '../database/replicas.js';
import { DrainService } from './drain.service.js';
import { HealthDto } from './health.dto.js';

@ApiTags('health')
@Public()
@WithoutDatabase()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly drain: DrainService,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly replicas: ReplicaSet,
  ) {}

  // Documented here rather than by terminus, whose schema depends on how @nestjs/swagger was loaded.
  @Get()
  @HealthCheck({ swaggerDocumentation: false })
  @ApiOperation({ summary: 'Liveness: the process answers' })
  @ApiOkResponse({ type: HealthDto, description: 'The process answers' })
  live() {
    return this.health.check([]);
  }

  @Get('ready')
  @HealthCheck({ swaggerDocumentation: false })
  @ApiOperation({
    summary: 'Readiness: the database answers (503 otherwise)',
    description: 'With DATABASE_REPLICA_URLS, `info.replicas.replicas` lists each replica (status up, lagging, down or not_standby; lag_ms; replayed position); a replica never makes this fail.',
  })
  @ApiOkResponse({ type: HealthDto, description: 'The database answers' })
  @ApiProblems({ status: 503, detail: 'The database is not reachable.' })
  async ready() {
    if (this.drain.draining) throw new ServiceUnavailableException('Shutting down: send new requests elsewhere.');
    // Started while the database was down, and not connected (or not migrated) yet.
    if (!isDatabaseReady(this.dataSource)) throw new ServiceUnavailableException('The database is not reachable.');
    let result: HealthCheckResult;
    try {
      result = await this.health.check([() => this.db.pingCheck('database', { timeout: 1500 })]);
    } catch {
      // Terminus's own error body names the driver's failure; the client learns only what matters.
      throw new ServiceUnavailableException('The database is not reachable.');
    }
    if (!this.replicas.enabled) return result;
    // Shown, never failed on: reads go to the primary while a replica is down or behind.
    const replicas = { status: 'up' as const, replicas: this.replicas.reports() };
    return { ...result, info: { ...result.info, replicas }, details: { ...result.details, replicas } };
  }
}
