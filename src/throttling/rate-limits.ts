import { createHash } from 'node:crypto';
import { HttpException, HttpStatus, SetMetadata } from '@nestjs/common';

export const AUTH_RATE_LIMITED = 'authRateLimited';
/** Counts a route against the per-IP limit of the auth routes (register, login, refresh share one budget). */
export const AuthRateLimited = () => SetMetadata(AUTH_RATE_LIMITED, true);

/** 429 problem+json; the filter turns retryAfter into a Retry-After header. */
export class TooManyRequestsException extends HttpException {
  constructor(detail: string, retryAfterSeconds: number) {
    super({ message: detail, retryAfter: Math.max(1, Math.ceil(retryAfterSeconds)) }, HttpStatus.TOO_MANY_REQUESTS);
  }
}

/** The Redis connection shared by the rate limiters, or null to count in memory. */
export const REDIS = Symbol('REDIS');

/** One budget per tracker across routes (the stock key is per route); hashed, so no address or id sits in Redis. */
export const throttleKey = (name: string, tracker: string) =>
  `hc:throttle:${name}:${createHash('sha256').update(tracker).digest('base64url')}`;
