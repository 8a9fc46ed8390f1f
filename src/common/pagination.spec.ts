import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import {
  CursorCodec,
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
  type Ordering,
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
  const byName: Ordering = { key: 'name', field: FIELDS.name, descending: false };
  const byAge: Ordering = { key: '-age', field: FIELDS.age, descending: true };
  const payload = { o: 'name', v: 'Zoë 🩺 "quoted"', i: randomUUID(), r: false };

  const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);

  it('round-trips a payload; the token is URL-safe', () => {
    const token = codec.encode(payload);
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(codec.decode(token, byName)).toEqual(payload);
  });

  it('round-trips a backwards numeric cursor', () => {
    const p = { o: '-age', v: 42, i: randomUUID(), r: true };
    expect(codec.decode(codec.encode(p), byAge)).toEqual(p);
  });

  it('no token, no cursor', () => {
    expect(codec.decode(undefined, byName)).toBeUndefined();
  });

  it('refuses a cursor made for another ordering', () => {
    const errors = errorsOf(() => codec.decode(codec.encode(payload), byAge));
    expect(Object.keys(errors)).toEqual(['cursor']);
  });

  it('refuses a cursor signed with another key', () => {
    const other = new CursorCodec(randomBytes(32));
    expect(Object.keys(errorsOf(() => codec.decode(other.encode(payload), byName)))).toEqual(['cursor']);
  });

  it('refuses any changed character in the payload or the signature', () => {
    const token = codec.encode(payload);
    const dot = token.indexOf('.');
    for (let i = 0; i < token.length; i++) {
      if (i === dot) continue;
      expect(Object.keys(errorsOf(() => codec.decode(flip(token, i), byName)))).toEqual(['cursor']);
    }
  });

  it('refuses a rewritten payload that keeps the old signature', () => {
    const [, signature] = codec.encode(payload).split('.');
    const forged = Buffer.from(JSON.stringify({ ...payload, v: 'A' })).toString('base64url');
    expect(Object.keys(errorsOf(() => codec.decode(`${forged}.${signature}`, byName)))).toEqual(['cursor']);
  });

  it.each(['', '.', 'abc', 'abc.', '.abc', 'a.b', 'a.b.c'])('refuses the malformed token %j', (token) => {
    expect(Object.keys(errorsOf(() => codec.decode(token, byName)))).toEqual(['cursor']);
  });

  it('refuses a validly signed body that is not JSON', () => {
    const body = Buffer.from('not json').toString('base64url');
    // Signed with the codec's own (private) signing, as only a key holder could.
    const signature = (codec as unknown as { sign(b: string): string }).sign(body);
    expect(Object.keys(errorsOf(() => codec.decode(`${body}.${signature}`, byName)))).toEqual(['cursor']);
  });
});

describe(pageRequest.name, () => {
  const codec = new CursorCodec(randomBytes(32));
  const ordering = parseOrdering(undefined, FIELDS, '-created_at');

  it(`defaults to ${DEFAULT_PAGE_SIZE} and caps at ${MAX_PAGE_SIZE}`, () => {
    expect(pageRequest({}, ordering, codec).pageSize).toBe(DEFAULT_PAGE_SIZE);
    expect(pageRequest({ page_size: 7 }, ordering, codec).pageSize).toBe(7);
    expect(pageRequest({ page_size: MAX_PAGE_SIZE }, ordering, codec).pageSize).toBe(MAX_PAGE_SIZE);
    expect(pageRequest({ page_size: MAX_PAGE_SIZE + 1 }, ordering, codec).pageSize).toBe(MAX_PAGE_SIZE);
    expect(pageRequest({ page_size: Number.MAX_SAFE_INTEGER }, ordering, codec).pageSize).toBe(MAX_PAGE_SIZE);
  });

  it('decodes the cursor for the ordering', () => {
    const cursor = { o: '-created_at', v: new Date().toISOString(), i: randomUUID(), r: false };
    expect(pageRequest({ cursor: codec.encode(cursor) }, ordering, codec).cursor).toEqual(cursor);
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
