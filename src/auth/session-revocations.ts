import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { REDIS } from '../throttling/rate-limits.js';

/** The Redis channel on which instances tell each other which sessions just ended. */
export const REVOKED_CHANNEL = 'hc:sessions:revoked';

/**
 * Tells every instance when sessions end (logout, logout-all, a password
 * change, a deactivation, a refresh token's reuse), through Redis pub/sub:
 * each instance then stops trusting its cached check of those sessions at
 * once, instead of after SESSION_CACHE_MS. Without Redis, or while it is
 * unreachable, nothing is sent and the cache's short lifetime is the bound,
 * as before. A subscriber connection of its own (a subscribed ioredis
 * client can do nothing else).
 */
@Injectable()
export class SessionRevocations implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SessionRevocations.name);
  private subscriber: Redis | null = null;
  private readonly listeners: Array<(sessionIds: string[]) => void> = [];

  constructor(@Inject(REDIS) private readonly redis: Redis | null) {}

  /** Called with the ids of sessions another instance (or this one) ended. */
  onRevoked(listener: (sessionIds: string[]) => void): void {
    this.listeners.push(listener);
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.redis) return;
    const subscriber = this.redis.duplicate({ enableOfflineQueue: true, lazyConnect: true });
    subscriber.on('error', () => undefined);
    subscriber.on('message', (channel: string, message: string) => {
      if (channel !== REVOKED_CHANNEL) return;
      const ids = parseIds(message);
      if (ids.length) for (const listener of this.listeners) listener(ids);
    });
    this.subscriber = subscriber;
    // Not awaited to the end: a Redis that is down must not hold the start; ioredis resubscribes when it is back.
    void subscriber.connect().then(
      () => subscriber.subscribe(REVOKED_CHANNEL),
      (error: Error) => this.logger.warn({ err: { message: error.message } }, 'session revocations not received until Redis is back'),
    );
  }

  onApplicationShutdown(): void {
    this.subscriber?.disconnect();
  }

  /** Tells every instance these sessions ended. Never fails the caller: without Redis, the cache's lifetime bounds the delay. */
  publish(sessionIds: string[]): void {
    if (!this.redis || sessionIds.length === 0) return;
    this.redis.publish(REVOKED_CHANNEL, JSON.stringify(sessionIds)).catch(() => undefined);
  }
}

function parseIds(message: string): string[] {
  try {
    const parsed: unknown = JSON.parse(message);
    return Array.isArray(parsed) ? parsed.filter((id): id is string => typeof id === 'string').slice(0, 10_000) : [];
  } catch {
    return [];
  }
}
