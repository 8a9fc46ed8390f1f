import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { CursorCodec } from './cursor-codec.js';
import { errorsOf } from '../../../test/utils/errors-of.js';
import { pageRequest, parseOrdering, type SortField } from './keyset-query.js';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './page-query.dto.js';

const FIELDS: Record<string, SortField> = {
  name: { column: 'name', property: 'name', kind: 'string' },
  created_at: { column: 'created_at', property: 'createdAt', kind: 'date' },
  age: { column: 'age', property: 'age', kind: 'number' },
};

const ADA = { id: randomUUID(), role: 'user' };

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

describe(pageRequest.name, () => {
  const codec = new CursorCodec(randomBytes(32));
  const ordering = parseOrdering(undefined, FIELDS, '-created_at');

  it(`defaults to ${DEFAULT_PAGE_SIZE} and caps at ${MAX_PAGE_SIZE}`, () => {
    expect(pageRequest({}, ordering, codec, 'patients', ADA).pageSize).toBe(DEFAULT_PAGE_SIZE);
    expect(pageRequest({ page_size: 7 }, ordering, codec, 'patients', ADA).pageSize).toBe(7);
    expect(pageRequest({ page_size: MAX_PAGE_SIZE }, ordering, codec, 'patients', ADA).pageSize).toBe(MAX_PAGE_SIZE);
    expect(pageRequest({ page_size: MAX_PAGE_SIZE + 1 }, ordering, codec, 'patients', ADA).pageSize).toBe(MAX_PAGE_SIZE);
    expect(pageRequest({ page_size: Number.MAX_SAFE_INTEGER }, ordering, codec, 'patients', ADA).pageSize).toBe(
      MAX_PAGE_SIZE,
    );
  });

  it('opens a cursor made for the same list and ordering only', () => {
    const cursor = { v: new Date().toISOString(), i: randomUUID(), r: false };
    const token = codec.encode(cursor, pageRequest({}, ordering, codec, 'patients', ADA).scope);
    expect(pageRequest({ cursor: token }, ordering, codec, 'patients', ADA).cursor).toEqual(cursor);
    expect(() => pageRequest({ cursor: token }, ordering, codec, 'doctors', ADA)).toThrow();
  });

  it('opens a cursor for the caller it was made for only: another user, or the same user with another role, is 400', () => {
    const cursor = { v: new Date().toISOString(), i: randomUUID(), r: false };
    const token = codec.encode(cursor, pageRequest({}, ordering, codec, 'patients', ADA).scope);
    expect(pageRequest({ cursor: token }, ordering, codec, 'patients', ADA).cursor).toEqual(cursor);
    for (const other of [{ id: randomUUID(), role: 'user' }, { id: randomUUID(), role: 'admin' }, { ...ADA, role: 'admin' }]) {
      const errors = errorsOf(() => pageRequest({ cursor: token }, ordering, codec, 'patients', other));
      expect(Object.keys(errors)).toEqual(['cursor']);
    }
  });

  it('a list name cannot pose as another list, ordering or caller (the parts are not run together)', () => {
    const a = pageRequest({}, ordering, codec, 'patients|x', ADA).scope;
    const b = pageRequest({}, ordering, codec, 'patients', { id: `x|${ADA.id}`, role: ADA.role }).scope;
    expect(a).not.toBe(b);
  });
});
