import { describe, expect, it } from '@jest/globals';
import { orderingsOf, toIntegerParam } from './page-query.dto.js';

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

describe(orderingsOf.name, () => {
  it('each sort field, ascending then descending, in declaration order', () => {
    expect(orderingsOf({ name: 'name', created_at: 'createdAt' })).toEqual(['name', '-name', 'created_at', '-created_at']);
  });
});
