import { randomUUID } from 'node:crypto';
import { decodeJwt, SignJWT, UnsecuredJWT, type JWTPayload } from 'jose';
import { TEST_JWT_SECRET } from '../utils/app.js';

/**
 * What a request presents in Authorization. `valid` is the caller's live
 * access token; every other kind (but `none`) is a forgery or a misuse that
 * a protected route must answer with 401.
 */
export const FORGED_TOKENS = [
  'alg-none',
  'alg-none-kept-signature',
  'other-key',
  'tampered-payload',
  'tampered-signature',
  'expired',
  'not-yet-valid',
  'refresh-as-access',
  'logged-out-session',
  'other-users-sub',
  'unknown-session',
  'no-typ',
  'bad-sid',
  'bad-sub',
  'others-session',
  'hs512',
  'oversized',
  'garbage',
  'empty-bearer',
  'basic-scheme',
] as const;

export type ForgedToken = (typeof FORGED_TOKENS)[number];
export type TokenKind = 'valid' | 'none' | ForgedToken;

const REAL_KEY = new TextEncoder().encode(TEST_JWT_SECRET);
const OTHER_KEY = new TextEncoder().encode(`${TEST_JWT_SECRET}-but-not-the-one-the-server-holds`);

export interface TokenContext {
  /** The caller's live access and refresh tokens. */
  access: string;
  refresh: string;
  /** An access token whose session was logged out. */
  loggedOutAccess: string;
  /** Another user's id (the victim's): a forged `sub`. */
  otherUserId: string;
  /** Another user's live session id (the victim's). */
  otherSessionId: string;
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Claims like the server's, for the caller's session, with overrides. */
function claimsLike(access: string, overrides: JWTPayload = {}): JWTPayload {
  const { sub, sid } = decodeJwt(access) as JWTPayload & { sid: string };
  return { sub, sid, jti: randomUUID(), typ: 'access', ...overrides };
}

async function signReal(claims: JWTPayload, alg = 'HS256', key = REAL_KEY, iat?: number, exp?: number): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg, typ: 'JWT' })
    .setIssuedAt(iat ?? now)
    .setExpirationTime(exp ?? now + 900)
    .sign(key);
}

/** The Authorization header value for a kind, or undefined for none. */
export async function authorization(kind: TokenKind, ctx: TokenContext): Promise<string | undefined> {
  const now = Math.floor(Date.now() / 1000);
  const [header, payload, signature] = ctx.access.split('.');
  switch (kind) {
    case 'none':
      return undefined;
    case 'valid':
      return `Bearer ${ctx.access}`;
    case 'alg-none':
      return `Bearer ${new UnsecuredJWT(claimsLike(ctx.access)).setIssuedAt().setExpirationTime('15m').encode()}`;
    case 'alg-none-kept-signature':
      return `Bearer ${b64url({ alg: 'none', typ: 'JWT' })}.${payload}.${signature}`;
    case 'other-key':
      return `Bearer ${await signReal(claimsLike(ctx.access), 'HS256', OTHER_KEY)}`;
    case 'tampered-payload': {
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as JWTPayload;
      return `Bearer ${header}.${b64url({ ...claims, sub: ctx.otherUserId })}.${signature}`;
    }
    case 'tampered-signature': {
      const flipped = signature.startsWith('A') ? `B${signature.slice(1)}` : `A${signature.slice(1)}`;
      return `Bearer ${header}.${payload}.${flipped}`;
    }
    case 'expired':
      return `Bearer ${await signReal(claimsLike(ctx.access), 'HS256', REAL_KEY, now - 3600, now - 60)}`;
    case 'not-yet-valid':
      return `Bearer ${await signReal(claimsLike(ctx.access, { nbf: now + 3600 }))}`;
    case 'refresh-as-access':
      return `Bearer ${ctx.refresh}`;
    case 'logged-out-session':
      return `Bearer ${ctx.loggedOutAccess}`;
    case 'other-users-sub':
      // Signed with the real key: the session exists, but is not this user's.
      return `Bearer ${await signReal(claimsLike(ctx.access, { sub: ctx.otherUserId }))}`;
    case 'unknown-session':
      return `Bearer ${await signReal(claimsLike(ctx.access, { sid: randomUUID() }))}`;
    case 'no-typ':
      return `Bearer ${await signReal(claimsLike(ctx.access, { typ: undefined }))}`;
    // The next three are signed with the real key, as only a holder of the
    // secret could: claims that are not ids, or another user's session.
    case 'bad-sid':
      return `Bearer ${await signReal(claimsLike(ctx.access, { sid: "x' OR '1'='1" }))}`;
    case 'bad-sub':
      return `Bearer ${await signReal(claimsLike(ctx.access, { sub: '0' }))}`;
    case 'others-session':
      return `Bearer ${await signReal(claimsLike(ctx.access, { sid: ctx.otherSessionId }))}`;
    case 'oversized':
      return `Bearer ${'a'.repeat(12_000)}.${payload}.${signature}`;
    case 'hs512':
      return `Bearer ${await signReal(claimsLike(ctx.access), 'HS512')}`;
    case 'garbage':
      return 'Bearer not.a.token';
    case 'empty-bearer':
      return 'Bearer ';
    case 'basic-scheme':
      return `Basic ${Buffer.from('admin:admin').toString('base64')}`;
  }
}

/** Refresh tokens a body may present to /api/auth/refresh or /logout (placeholders resolved by the world). */
export const REFRESH_CHOICES = [
  '@@refresh@@',
  '@@staleRefresh@@',
  '@@loggedOutRefresh@@',
  '@@access@@',
  '@@forgedRefresh:alg-none@@',
  '@@forgedRefresh:other-key@@',
  '@@forgedRefresh:tampered-payload@@',
  '@@forgedRefresh:expired@@',
  '@@forgedRefresh:bad-sid@@',
  'not.a.token',
  '',
] as const;

/** Forged refresh tokens, from the caller's live refresh token. */
export async function forgedRefresh(kind: string, refresh: string, otherUserId: string): Promise<string> {
  const [header, payload, signature] = refresh.split('.');
  const claims = decodeJwt(refresh);
  const now = Math.floor(Date.now() / 1000);
  switch (kind) {
    case 'alg-none':
      return new UnsecuredJWT({ ...claims, exp: undefined, iat: undefined }).setIssuedAt().setExpirationTime('15m').encode();
    case 'other-key':
      return signReal({ ...claims, exp: undefined, iat: undefined }, 'HS256', OTHER_KEY);
    case 'tampered-payload':
      return `${header}.${b64url({ ...claims, sub: otherUserId })}.${signature}`;
    case 'expired':
      return signReal({ ...claims, exp: undefined, iat: undefined }, 'HS256', REAL_KEY, now - 3600, now - 60);
    case 'bad-sid':
      // Real key, a session id that is no UUID: only the holder of the secret could send it.
      return signReal({ ...claims, sid: "x' OR '1'='1", exp: undefined, iat: undefined });
    default:
      return `${header}.${payload}.${signature}`;
  }
}
