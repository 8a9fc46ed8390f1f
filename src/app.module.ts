import { Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, APP_PIPE } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { LoggerModule } from 'nestjs-pino';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { AdminModule } from './admin/admin.module.js';
import { AuditInterceptor } from './audit/audit.interceptor.js';
import { AuditModule } from './audit/audit.module.js';
import { AuthModule } from './auth/auth.module.js';
import { JwtAuthGuard } from './auth/jwt-auth.guard.js';
import { MfaRequiredGuard } from './auth/mfa/mfa-required.guard.js';
import { RolesGuard } from './auth/roles.guard.js';
import { ProblemDetailsFilter } from './common/problem-details.filter.js';
import { createValidationPipe } from './common/validation.js';
import { type EnvironmentVariables, validateEnv } from './config/env.validation.js';
import { loggerOptions } from './config/logger.js';
import { buildDataSourceOptions } from './database/data-source-options.js';
import { databaseUse, openDataSource } from './database/database-startup.js';
import { DatabaseReadyGuard } from './database/database-ready.guard.js';
import { DatabaseModule } from './database/database.module.js';
import { DatabaseStartupShutdown } from './database/database-startup.shutdown.js';
import { releasePGliteDataDir } from './database/pglite-lock.js';
import { DoctorsModule } from './doctors/doctors.module.js';
import { HealthModule } from './health/health.module.js';
import { MappingsModule } from './mappings/mappings.module.js';
import { PatientsModule } from './patients/patients.module.js';
import { ApiThrottlerGuard } from './throttling/api-throttler.guard.js';
import { ThrottlingModule } from './throttling/throttling.module.js';
import { UsersModule } from './users/users.module.js';

@Module({
  imports: [
    ConfigModule.forRoot({
      isGlobal: true,
      cache: true,
      validate: validateEnv,
      // Tests configure themselves; a developer's .env must not leak into them.
      ignoreEnvFile: process.env.NODE_ENV === 'test',
    }),
    LoggerModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService<EnvironmentVariables, true>) =>
        loggerOptions(config.getOrThrow('LOG_LEVEL', { infer: true }), config.getOrThrow('NODE_ENV', { infer: true })),
    }),
    TypeOrmModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService<EnvironmentVariables, true>) => ({
        ...buildDataSourceOptions(
          {
            DATABASE_URL: config.get('DATABASE_URL', { infer: true }),
            DB_NAME: config.get('DB_NAME', { infer: true }),
            DB_USER: config.get('DB_USER', { infer: true }),
            DB_PASSWORD: config.get('DB_PASSWORD', { infer: true }),
            DB_HOST: config.getOrThrow('DB_HOST', { infer: true }),
            DB_PORT: config.getOrThrow('DB_PORT', { infer: true }),
            DB_POOL_SIZE: config.getOrThrow('DB_POOL_SIZE', { infer: true }),
            PGLITE_DATA_DIR: config.getOrThrow('PGLITE_DATA_DIR', { infer: true }),
          },
          databaseUse(),
        ),
        migrateOnStart: config.getOrThrow('DB_MIGRATE_ON_START', { infer: true }),
        pgliteDataDir: config.getOrThrow('PGLITE_DATA_DIR', { infer: true }),
        // dataSourceFactory connects (or, for a server whose database is down, connects later): not TypeOrmModule.
        manualInitialization: true,
        // A tool fails fast (about 3 s) when the database is unreachable; a server does not fail for that (it waits).
        retryAttempts: 2,
        retryDelay: 1000,
      }),
      // Pending migrations are applied before the app serves data.
      dataSourceFactory: async (options?: DataSourceOptions) => {
        if (!options) throw new Error('TypeORM options missing');
        const { migrateOnStart, driver, pgliteDataDir } = options as {
          migrateOnStart?: boolean;
          driver?: unknown;
          pgliteDataDir?: string;
        };
        // A custom driver means PGlite: single-process (no migration lock), embedded (never "down").
        const postgres = driver === undefined;
        const dataSource = await openDataSource(new DataSource(options), {
          migrate: migrateOnStart === true,
          migrationLock: postgres,
          waitWhenDown: postgres && databaseUse() === 'server',
          onFatal: (error) => {
            // Retrying cannot help (a wrong password, a failing migration): stop, so the supervisor sees it.
            process.stderr.write(`Failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
            process.exit(1);
          },
        });
        if (!postgres && pgliteDataDir && !pgliteDataDir.startsWith('memory://')) {
          // Closing the app (SIGTERM included) frees the embedded database for the next process.
          const destroy = dataSource.destroy.bind(dataSource);
          dataSource.destroy = async () => {
            await destroy();
            releasePGliteDataDir(pgliteDataDir);
          };
        }
        return dataSource;
      },
    }),
    DatabaseModule,
    ThrottlingModule,
    AuditModule,
    HealthModule,
    UsersModule,
    AuthModule,
    PatientsModule,
    DoctorsModule,
    MappingsModule,
    AdminModule,
  ],
  providers: [
    DatabaseStartupShutdown,
    // In this order: whether the database is up yet, who is calling, whether they are within their rate limits,
    // whether their role may use the route.
    { provide: APP_GUARD, useClass: DatabaseReadyGuard },
    { provide: APP_GUARD, useClass: JwtAuthGuard },
    { provide: APP_GUARD, useClass: ApiThrottlerGuard },
    { provide: APP_GUARD, useClass: RolesGuard },
    { provide: APP_GUARD, useClass: MfaRequiredGuard },
    { provide: APP_INTERCEPTOR, useClass: AuditInterceptor },
    { provide: APP_PIPE, useFactory: createValidationPipe },
    { provide: APP_FILTER, useClass: ProblemDetailsFilter },
  ],
})
export class AppModule {}
