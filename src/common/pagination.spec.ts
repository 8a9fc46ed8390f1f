import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import {
  CursorCodec,
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
  pageRequest,
  parseOrdering,
  type SortField,
  toIntegerParam,
} from './pagination.js';
import { ValidationFailedException } from './problem.js';

const FIELDS: Record<string, SortField> = {
  name: { column: 'name', kind: 'string' },
  created_at: { column: 'created_at', kind: 'date' },
  age: { column: 'age', kind: 'number' },
};

/** The field errors a call throws, or fails when it does not throw a 400. */
function errorsOf(fn: () => unknown): Record<string, string[]> {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationFailedException);
    expect((error as ValidationFailedException).getStatus()).toBe(400);
    return (error as ValidationFailedException).errors;
  }
  throw new Error('expected a ValidationFailedException');
}

describe(parseOrdering.name, () => {
  it('uses the fallback when none is given', () => {
    expect(parseOrdering(undefined, FIELDS, '-created_at')).toEqual({
      key: '-created_at',
      field: FIELDS.created_at,
      descending: true,
    });
  });

  it.each([
    ['name', 'name', false],
    ['-name', 'name', true],
    ['age', 'age', false],
    ['-age', 'age', true],
    ['created_at', 'created_at', false],
  ])('%s -> %s, descending %s', (raw, field, descending) => {
    expect(parseOrdering(raw, FIELDS, '-created_at')).toEqual({ key: raw, field: FIELDS[field], descending });
  });

  it.each(['', '-', '--name', 'gender', 'NAME', ' name', 'name,age', 'constructor', '__proto__', 'toString', 'hasOwnProperty'])(
    'refuses %j with a 400 naming ordering and listing the choices',
    (raw) => {
      const errors = errorsOf(() => parseOrdering(raw, FIELDS, '-created_at'));
      expect(Object.keys(errors)).toEqual(['ordering']);
      expect(errors.ordering[0]).toContain('name, -name, created_at, -created_at, age, -age');
    },
  );
});

describe(CursorCodec.name, () => {
  const codec = new CursorCodec(randomBytes(32));
  const patientsByName = 'patients|name';
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
    expect(codec.decode(codec.encode(p, 'patients|-age'), 'patients|-age')).toEqual(p);
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

describe(pageRequest.name, () => {
  const codec = new CursorCodec(randomBytes(32));
  const ordering = parseOrdering(undefined, FIELDS, '-created_at');

  it(`defaults to ${DEFAULT_PAGE_SIZE} and caps at ${MAX_PAGE_SIZE}`, () => {
    expect(pageRequest({}, ordering, codec, 'patients').pageSize).toBe(DEFAULT_PAGE_SIZE);
    expect(pageRequest({ page_size: 7 }, ordering, codec, 'patients').pageSize).toBe(7);
    expect(pageRequest({ page_size: MAX_PAGE_SIZE }, ordering, codec, 'patients').pageSize).toBe(MAX_PAGE_SIZE);
    expect(pageRequest({ page_size: MAX_PAGE_SIZE + 1 }, ordering, codec, 'patients').pageSize).toBe(MAX_PAGE_SIZE);
    expect(pageRequest({ page_size: Number.MAX_SAFE_INTEGER }, ordering, codec, 'patients').pageSize).toBe(
      MAX_PAGE_SIZE,
    );
  });

  it('opens a cursor made for the same list and ordering only', () => {
    const cursor = { v: new Date().toISOString(), i: randomUUID(), r: false };
    const token = codec.encode(cursor, 'patients|-created_at');
    expect(pageRequest({ cursor: token }, ordering, codec, 'patients').cursor).toEqual(cursor);
    expect(() => pageRequest({ cursor: token }, ordering, codec, 'doctors')).toThrow();
  });
});

describe('toIntegerParam', () => {
  it.each([
    ['20', 20],
    ['0', 0],
    ['007', 7],
    ['99999999999', 99_999_999_999],
    ['9'.repeat(400), Number.MAX_SAFE_INTEGER],
  ])('%s -> %d', (value, expected) => {
    expect(toIntegerParam({ value })).toBe(expected);
  });

  it.each(['', '-1', '1.5', '1e2', '0x10', ' 5', '5 ', 'abc', '+5'])('leaves %j as it is, for @IsInt to refuse', (value) => {
    expect(toIntegerParam({ value })).toBe(value);
  });

  it('leaves non-strings alone', () => {
    const list = ['1', '2'];
    expect(toIntegerParam({ value: list })).toBe(list);
    expect(toIntegerParam({ value: undefined })).toBeUndefined();
  });
});
