import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { CursorCodec } from './cursor-codec.js';
import { errorsOf } from '../../../test/utils/errors-of.js';

describe(CursorCodec.name, () => {
  const codec = new CursorCodec(randomBytes(32));
  const patientsByName = JSON.stringify(['patients', 'name', randomUUID(), 'user']);
  const payload = { v: 'Zoë 🩺 "quoted"', i: randomUUID(), r: false };

  const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);

  it('round-trips a payload; the token is URL-safe and does not reveal the sort value', () => {
    const token = codec.encode(payload, patientsByName);
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(codec.decode(token, patientsByName)).toEqual(payload);
    expect(Buffer.from(token, 'base64url').toString('latin1')).not.toContain('quoted');
    // Sealed with a fresh IV each time: equal positions do not give equal tokens.
    expect(codec.encode(payload, patientsByName)).not.toBe(token);
  });

  it('round-trips a backwards numeric cursor', () => {
    const p = { v: 42, i: randomUUID(), r: true };
    expect(codec.decode(codec.encode(p, 'patients -age'), 'patients -age')).toEqual(p);
  });

  it('no token, no cursor', () => {
    expect(codec.decode(undefined, patientsByName)).toBeUndefined();
  });

  it.each(['patients|-name', 'doctors|name', 'doctors-of:1|name'])('refuses a cursor made for %s', (scope) => {
    const errors = errorsOf(() => codec.decode(codec.encode(payload, patientsByName), scope));
    expect(Object.keys(errors)).toEqual(['cursor']);
  });

  it('refuses a cursor sealed with another key', () => {
    const other = new CursorCodec(randomBytes(32));
    expect(Object.keys(errorsOf(() => codec.decode(other.encode(payload, patientsByName), patientsByName)))).toEqual([
      'cursor',
    ]);
  });

  it('refuses any changed character', () => {
    const token = codec.encode(payload, patientsByName);
    for (let i = 0; i < token.length; i++) {
      expect(Object.keys(errorsOf(() => codec.decode(flip(token, i), patientsByName)))).toEqual(['cursor']);
    }
  });

  it.each(['', 'abc', 'a.b', 'A'.repeat(40), '!!!!'])('refuses the malformed token %j', (token) => {
    expect(Object.keys(errorsOf(() => codec.decode(token, patientsByName)))).toEqual(['cursor']);
  });

  it('refuses a key of the wrong size', () => {
    expect(() => new CursorCodec(randomBytes(16))).toThrow(/32-byte/);
  });
});
