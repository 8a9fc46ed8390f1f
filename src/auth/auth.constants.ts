/** DI token of the HS256 KeyObject (see jwt-secret.ts). */
export const JWT_KEY = Symbol('JWT_KEY');

export type TokenType = 'access' | 'refresh';

/** The claims of both token types. */
export interface TokenClaims {
  sub: string;
  sid: string;
  jti: string;
  typ: TokenType;
  iat: number;
  exp: number;
}
