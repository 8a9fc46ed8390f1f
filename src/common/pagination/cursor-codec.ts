import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { ValidationFailedException } from '../problem.js';

export interface CursorPayload {
  /** Sort value of the boundary row. */
  v: string | number;
  /** Id of the boundary row (the tie-breaker). */
  i: string;
  /** True when the cursor pages backwards (a `previous` link). */
  r: boolean;
}

const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Seals and opens cursors with AES-256-GCM. A cursor carries the boundary
 * row's sort value, which can be a patient's name or age: encrypted, it tells
 * nothing to a proxy log or a browser history. What it is bound to (the list,
 * its ordering and the caller: see pageRequest) is the authenticated
 * associated data, so a tampered cursor, or one taken from another list or
 * another user, is a 400, never a query with chosen values.
 */
export class CursorCodec {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('CursorCodec needs a 32-byte key');
  }

  encode(payload: CursorPayload, scope: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(scope, 'utf8'));
    const sealed = Buffer.concat([cipher.update(JSON.stringify(payload), 'utf8'), cipher.final()]);
    return Buffer.concat([iv, sealed, cipher.getAuthTag()]).toString('base64url');
  }

  decode(token: string | undefined, scope: string): CursorPayload | undefined {
    if (token === undefined) return undefined;
    const invalid = () =>
      new ValidationFailedException({
        cursor: ['cursor is invalid, has been tampered with, or belongs to another list or user'],
      });
    const raw = Buffer.from(token, 'base64url');
    // Re-encoding must give the same text: base64url would otherwise ignore a changed final character.
    if (raw.length <= IV_BYTES + TAG_BYTES || raw.toString('base64url') !== token) throw invalid();
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(scope, 'utf8'));
      decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
      const plain = Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]);
      const payload = JSON.parse(plain.toString('utf8')) as CursorPayload;
      if (typeof payload !== 'object' || payload === null || typeof payload.r !== 'boolean') throw invalid();
      return payload;
    } catch {
      throw invalid();
    }
  }
}
