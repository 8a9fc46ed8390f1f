import { randomUUID, type KeyObject } from 'node:crypto';
import { Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { isUUID } from 'class-validator';
import { AppConfig } from '../config/app-config.js';
import { JWT_KEY, type TokenClaims } from './auth.constants.js';

const ALGORITHM = 'HS256';

/** A token as jsonwebtoken returns it with `complete: true`. */
export interface VerifiedToken {
  header: Record<string, unknown>;
  payload: TokenClaims;
}

/**
 * What a signature check alone does not refuse (issue 11 item 13), for
 * access and refresh tokens alike: a token must expire (jsonwebtoken accepts
 * one without `exp`), and a `crit` header names extensions the verifier must
 * understand or refuse (RFC 7515 4.1.11); we understand none.
 */
export function isAcceptableToken({ header, payload }: VerifiedToken): boolean {
  return !('crit' in header) && typeof payload.exp === 'number' && Number.isFinite(payload.exp);
}

@Injectable()
export class TokensService {
  private readonly accessTtl: number;
  private readonly refreshIdleTtl: number;

  constructor(
    private readonly jwt: JwtService,
    @Inject(JWT_KEY) private readonly key: KeyObject,
    config: AppConfig,
  ) {
    this.accessTtl = config.auth.accessTtl;
    this.refreshIdleTtl = config.auth.refreshIdleTtl;
  }

  signAccess(userId: string, sessionId: string): string {
    return this.sign({ sub: userId, sid: sessionId, jti: randomUUID(), typ: 'access' }, this.accessTtl);
  }

  /**
   * `expiresAt` caps the token at the session's absolute end. Deterministic
   * in its arguments (HS256, `iat` from `issuedAt`): signing again with the
   * same ones gives the same token, which is how a retried refresh within the
   * grace gets the very token the first one got.
   */
  signRefresh(userId: string, sessionId: string, jti: string, expiresAt: Date, issuedAt: Date = new Date()): string {
    const iat = Math.floor(issuedAt.getTime() / 1000);
    const remaining = Math.floor((expiresAt.getTime() - issuedAt.getTime()) / 1000);
    return this.sign(
      { sub: userId, sid: sessionId, jti, typ: 'refresh', iat },
      Math.max(1, Math.min(this.refreshIdleTtl, remaining)),
    );
  }

  /** Verifies signature, algorithm, expiry and type of a refresh token, or throws 401. */
  verifyRefresh(token: string): TokenClaims {
    let verified: VerifiedToken;
    try {
      verified = this.jwt.verify<VerifiedToken>(token, { secret: this.key as never, algorithms: [ALGORITHM], complete: true });
    } catch {
      throw new UnauthorizedException('The refresh token is invalid or has expired.');
    }
    const claims = verified.payload;
    if (!isAcceptableToken(verified) || claims.typ !== 'refresh' || !isUUID(claims.sid) || !isUUID(claims.jti) || !isUUID(claims.sub)) {
      throw new UnauthorizedException('The refresh token is invalid or has expired.');
    }
    return claims;
  }

  /** `iat` defaults to now; `exp` is `iat` + ttlSeconds. */
  private sign(claims: Omit<TokenClaims, 'iat' | 'exp'> & { iat?: number }, ttlSeconds: number): string {
    return this.jwt.sign(claims, { secret: this.key as never, algorithm: ALGORITHM, expiresIn: ttlSeconds });
  }
}
