import { randomUUID, type KeyObject } from 'node:crypto';
import { Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { isUUID } from 'class-validator';
import { AppConfig } from '../config/app-config.js';
import { JWT_KEY, type TokenClaims } from './auth.constants.js';

const ALGORITHM = 'HS256';

/** Access tokens whose check is remembered (about 3 MB at most). */
const VERIFIED_CACHE_MAX = 10_000;

/** Why an access token was refused: the guard words its 401 and records the reason from it. */
export class AccessTokenRefused extends Error {
  constructor(readonly reason: 'invalid_token' | 'expired_token') {
    super(reason === 'expired_token' ? 'The access token has expired.' : 'The access token is invalid.');
    this.name = 'AccessTokenRefused';
  }
}

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
  /**
   * Access tokens that passed every check, by their exact text, with their
   * claims: the same string presented again needs only its expiry checked
   * (a signature check and two JSON parses are most of a guarded request's
   * token work). Bounded; the oldest entry goes first. What a token may do is
   * still decided on every request by the session check behind it.
   */
  private readonly verifiedAccess = new Map<string, TokenClaims>();
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

  /**
   * Verifies an access token (HS256 only, signature, an expiry that must be
   * there and not past, no `crit` header, type, ids the database can look
   * up), or throws AccessTokenRefused.
   */
  verifyAccess(token: string): TokenClaims {
    const known = this.verifiedAccess.get(token);
    if (known !== undefined) {
      // jsonwebtoken's rule: expired once the current second reaches `exp`.
      if (Math.floor(Date.now() / 1000) < known.exp) return known;
      this.verifiedAccess.delete(token);
      throw new AccessTokenRefused('expired_token');
    }
    let verified: VerifiedToken;
    try {
      verified = this.jwt.verify<VerifiedToken>(token, { secret: this.key as never, algorithms: [ALGORITHM], complete: true });
    } catch (error) {
      throw new AccessTokenRefused((error as Error).name === 'TokenExpiredError' ? 'expired_token' : 'invalid_token');
    }
    const claims = verified.payload;
    if (!isAcceptableToken(verified) || claims.typ !== 'access' || !isUUID(claims.sid) || !isUUID(claims.sub)) {
      throw new AccessTokenRefused('invalid_token');
    }
    if (this.verifiedAccess.size >= VERIFIED_CACHE_MAX) this.verifiedAccess.delete(this.verifiedAccess.keys().next().value as string);
    this.verifiedAccess.set(token, claims);
    return claims;
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
