import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, APP_PIPE } from '@nestjs/core';
import { AdminModule } from './admin/admin.module.js';
import { AuditInterceptor } from './audit/audit.interceptor.js';
import { ConsistencyTokenInterceptor } from './database/read-consistency.js';
import { AuditModule } from './audit/audit.module.js';
import { RefusalsModule } from './audit/refusals.module.js';
import { AuthModule } from './auth/auth.module.js';
import { JwtAuthGuard } from './auth/jwt-auth.guard.js';
import { MfaRequiredGuard } from './auth/mfa/mfa-required.guard.js';
import { RolesGuard } from './auth/roles.guard.js';
import { ProblemDetailsFilter } from './common/problem-details.filter.js';
import { createValidationPipe } from './common/validation.js';
import type { AppConfig } from './config/app-config.js';
import { AppConfigModule } from './config/config.module.js';
import { LoggerModule } from './config/logger.js';
import { DatabaseReadyGuard } from './database/database-ready.guard.js';
import type { DatabaseUse } from './database/database-startup.js';
import { DatabaseModule } from './database/database.module.js';
import { DoctorsModule } from './doctors/doctors.module.js';
import { HealthModule } from './health/health.module.js';
import { IdempotencyModule } from './idempotency/idempotency.module.js';
import { MappingsModule } from './mappings/mappings.module.js';
import { PatientsModule } from './patients/patients.module.js';
import { ApiThrottlerGuard } from './throttling/api-throttler.guard.js';
import { ThrottlingModule } from './throttling/throttling.module.js';
import { UsersModule } from './users/users.module.js';

export interface AppModuleOptions {
  /** 'server' (main.ts, the default) or 'tool' (the CLI): see DatabaseUse. */
  use?: DatabaseUse;
}

/**
 * The whole API, built from a validated configuration (`validate(env)` in
 * src/config): nothing here reads process.env, so one process may build
 * several apps with different settings (the tests do).
 */
@Module({})
export class AppModule {
  static forRoot(config: AppConfig, { use = 'server' }: AppModuleOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        AppConfigModule.forRoot(config),
        LoggerModule.forRoot(config.log.level, config.nodeEnv),
        DatabaseModule.forRoot(config.database, use),
        ThrottlingModule,
        AuditModule,
        RefusalsModule,
        HealthModule,
        IdempotencyModule,
        UsersModule,
        AuthModule,
        PatientsModule,
        DoctorsModule,
        MappingsModule,
        AdminModule,
      ],
      providers: [
        // In this order: whether the database is up yet, who is calling (a caller without a valid token is first
        // held to its address's anonymous budget), whether they are within their rate limits, whether their role
        // may use the route.
        { provide: APP_GUARD, useClass: DatabaseReadyGuard },
        { provide: APP_GUARD, useClass: JwtAuthGuard },
        { provide: APP_GUARD, useClass: ApiThrottlerGuard },
        { provide: APP_GUARD, useClass: RolesGuard },
        // Last: an admin without a confirmed second factor reaches only the MFA setup routes and logout-all.
        { provide: APP_GUARD, useClass: MfaRequiredGuard },
        { provide: APP_INTERCEPTOR, useClass: AuditInterceptor },
        // Read-your-writes with replicas: a write's answer carries its position; a read that sends it back waits for no stale replica.
        { provide: APP_INTERCEPTOR, useClass: ConsistencyTokenInterceptor },
        { provide: APP_PIPE, useFactory: createValidationPipe },
        { provide: APP_FILTER, useClass: ProblemDetailsFilter },
      ],
    };
  }
}
