import { type CanActivate, type ExecutionContext, Injectable, SetMetadata, ServiceUnavailableException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { DATABASE_RETRY_AFTER } from '../common/db-errors.js';
import { isDatabaseReady } from './database-startup.js';

const WITHOUT_DATABASE_KEY = 'withoutDatabase';

/** The route answers while the database is not connected yet (health checks). */
export const WithoutDatabase = () => SetMetadata(WITHOUT_DATABASE_KEY, true);

/**
 * The first global guard: until the database is connected and migrated (a
 * server started while PostgreSQL was down), every route but the health
 * checks answers 503 with Retry-After, before any other guard touches the
 * database. Once ready, one boolean check per request.
 */
@Injectable()
export class DatabaseReadyGuard implements CanActivate {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly reflector: Reflector,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (isDatabaseReady(this.dataSource)) return true;
    if (this.reflector.getAllAndOverride<boolean>(WITHOUT_DATABASE_KEY, [context.getHandler(), context.getClass()])) return true;
    throw new ServiceUnavailableException({
      message: 'The database is not reachable yet; try again shortly.',
      retryAfter: DATABASE_RETRY_AFTER,
    });
  }
}
