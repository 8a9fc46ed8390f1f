import { randomUUID, type KeyObject } from 'node:crypto';
import { Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { JwtService } from '@nestjs/jwt';
import { isUUID } from 'class-validator';
import type { EnvironmentVariables } from '../config/env.validation.js';
import { JWT_KEY, type TokenClaims } from './auth.constants.js';

const ALGORITHM = 'HS256';

@Injectable()
export class TokensService {
  private readonly accessTtl: number;
  private readonly refreshIdleTtl: number;

  constructor(
    private readonly jwt: JwtService,
    @Inject(JWT_KEY) private readonly key: KeyObject,
    config: ConfigService<EnvironmentVariables, true>,
  ) {
    this.accessTtl = config.getOrThrow('JWT_ACCESS_TTL', { infer: true });
    this.refreshIdleTtl = config.getOrThrow('JWT_REFRESH_IDLE_TTL', { infer: true });
  }

  signAccess(userId: string, sessionId: string): string {
    return this.sign({ sub: userId, sid: sessionId, jti: randomUUID(), typ: 'access' }, this.accessTtl);
  }

  /** `expiresAt` caps the token at the session's absolute end. */
  signRefresh(userId: string, sessionId: string, jti: string, expiresAt: Date): string {
    const remaining = Math.floor((expiresAt.getTime() - Date.now()) / 1000);
    return this.sign({ sub: userId, sid: sessionId, jti, typ: 'refresh' }, Math.max(1, Math.min(this.refreshIdleTtl, remaining)));
  }

  /** Verifies signature, algorithm, expiry and type of a refresh token, or throws 401. */
  verifyRefresh(token: string): TokenClaims {
    let claims: TokenClaims;
    try {
      claims = this.jwt.verify<TokenClaims>(token, { secret: this.key as never, algorithms: [ALGORITHM] });
    } catch {
      throw new UnauthorizedException('The refresh token is invalid or has expired.');
    }
    if (claims.typ !== 'refresh' || !isUUID(claims.sid) || !isUUID(claims.jti) || !isUUID(claims.sub)) {
      throw new UnauthorizedException('The refresh token is invalid or has expired.');
    }
    return claims;
  }

  private sign(claims: Omit<TokenClaims, 'iat' | 'exp'>, ttlSeconds: number): string {
    return this.jwt.sign(claims, { secret: this.key as never, algorithm: ALGORITHM, expiresIn: ttlSeconds });
  }
}
