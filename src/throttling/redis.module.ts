import { Global, Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Redis } from 'ioredis';
import type { EnvironmentVariables } from '../config/env.validation.js';
import { REDIS } from './rate-limits.js';

/** The Redis connection (REDIS_URL), or null when none is configured. */
@Global()
@Module({
  providers: [
    {
      provide: REDIS,
      inject: [ConfigService],
      useFactory: (config: ConfigService<EnvironmentVariables, true>): Redis | null => {
        const url = config.get('REDIS_URL', { infer: true });
        if (!url) return null;
        const redis = new Redis(url, {
          // Fail fast instead of queueing commands while Redis is away.
          enableOfflineQueue: false,
          maxRetriesPerRequest: 1,
          connectTimeout: 2000,
          commandTimeout: 1000,
        });
        // ioredis reconnects by itself; without a listener its errors would crash the process.
        const logger = new Logger('Redis');
        let lastLog = 0;
        redis.on('error', (error: Error) => {
          if (Date.now() - lastLog < 10_000) return;
          lastLog = Date.now();
          logger.warn({ err: { message: error.message } }, 'Redis unavailable; rate limits are not enforced meanwhile');
        });
        return redis;
      },
    },
  ],
  exports: [REDIS],
})
export class RedisModule implements OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly redis: Redis | null) {}

  onApplicationShutdown(): void {
    this.redis?.disconnect();
  }
}
