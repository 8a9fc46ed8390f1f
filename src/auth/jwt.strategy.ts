import type { KeyObject } from 'node:crypto';
import { Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { isUUID } from 'class-validator';
import { ExtractJwt, Strategy } from 'passport-jwt';
import type { AuthUser } from './current-user.decorator.js';
import { JWT_KEY } from './auth.constants.js';
import { SessionsService } from './sessions.service.js';
import { isAcceptableToken, type VerifiedToken } from './tokens.service.js';

/**
 * Verifies access tokens: HS256 only, signature, an expiry that must be
 * there and not past, no `crit` header, token type, then the session and
 * user behind it (cached for a couple of seconds).
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
      // The header too, for isAcceptableToken.
      jsonWebTokenOptions: { complete: true },
    });
  }

  async validate(token: VerifiedToken): Promise<AuthUser> {
    const claims = token.payload;
    // Ids the database can look up: a token signed with our key but odd ids is still just invalid (401).
    if (!isAcceptableToken(token) || claims.typ !== 'access' || !isUUID(claims.sid) || !isUUID(claims.sub)) {
      throw new UnauthorizedException('The access token is invalid.');
    }
    const user = await this.sessions.authenticate(claims.sid, claims.sub);
    if (!user) throw new UnauthorizedException('The session has ended; log in again.');
    return user;
  }
}
