import type { KeyObject } from 'node:crypto';
import { Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { isUUID } from 'class-validator';
import { ExtractJwt, Strategy } from 'passport-jwt';
import type { AuthUser } from '../common/decorators.js';
import { JWT_KEY, type TokenClaims } from './auth.constants.js';
import { SessionsService } from './sessions.service.js';

/**
 * Verifies access tokens: HS256 only, signature, expiry, token type, then
 * the session and user behind it (cached for a couple of seconds).
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(
    @Inject(JWT_KEY) key: KeyObject,
    private readonly sessions: SessionsService,
  ) {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      // A KeyObject, never a string: see jwt-secret.ts.
      secretOrKey: key as unknown as string,
      algorithms: ['HS256'],
      ignoreExpiration: false,
    });
  }

  async validate(claims: TokenClaims): Promise<AuthUser> {
    // Ids the database can look up: a token signed with our key but odd ids is still just invalid (401).
    if (claims.typ !== 'access' || !isUUID(claims.sid) || !isUUID(claims.sub)) {
      throw new UnauthorizedException('The access token is invalid.');
    }
    const user = await this.sessions.authenticate(claims.sid, claims.sub);
    if (!user) throw new UnauthorizedException('The session has ended; log in again.');
    return user;
  }
}
