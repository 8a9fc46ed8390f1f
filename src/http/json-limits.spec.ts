import { describe, expect, it } from '@jest/globals';
import { findJsonLimitBreach, JSON_LIMITS, MAX_ARRAY_ITEMS, MAX_JSON_DEPTH, MAX_OBJECT_KEYS, MAX_TOTAL_ITEMS, MAX_TOTAL_KEYS } from './json-limits.js';

/** The depth of a text: the least depth limit it passes. */
function jsonDepth(text: string): number {
  for (let depth = 0; ; depth++) {
    if (findJsonLimitBreach(text, { ...JSON_LIMITS, depth })?.limit !== 'depth') return depth;
  }
}

describe('jsonDepth', () => {
  it.each([
    ['1', 0],
    ['"x"', 0],
    ['{}', 1],
    ['[]', 1],
    ['{"a":{"b":[1,2,{"c":3}]}}', 4],
    ['[[],[],[[]]]', 3],
    ['{"a":[]} ', 2],
  ])('%s is %d deep', (text, depth) => {
    expect(jsonDepth(text)).toBe(depth);
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    expect(jsonDepth('{"a":"[[[{{{"}')).toBe(1);
    expect(jsonDepth('{"a":"\\"[[[[","b":"\\\\"}')).toBe(1);
    expect(jsonDepth('["\\\\",[["x"]]]')).toBe(3);
  });

  it('measures the deepest branch, not the sum', () => {
    expect(jsonDepth('[[[]],[[]],[[]]]')).toBe(3);
  });
});

const object = (n: number, prefix = 'k') => `{${Array.from({ length: n }, (_, i) => `"${prefix}${i}":${i}`).join(',')}}`;
const array = (n: number) => `[${Array.from({ length: n }, (_, i) => i).join(',')}]`;

describe(findJsonLimitBreach.name, () => {
  it('passes bodies within every bound', () => {
    expect(findJsonLimitBreach(object(MAX_OBJECT_KEYS))).toBeUndefined();
    expect(findJsonLimitBreach(`{"a":${array(MAX_ARRAY_ITEMS)}}`)).toBeUndefined();
    expect(findJsonLimitBreach('{"a":[],"b":[ ],"c":{}}')).toBeUndefined();
    expect(findJsonLimitBreach('{"a":"x:y,z","b:c":"[1,2]"}')).toBeUndefined();
  });

  it(`refuses more than ${MAX_OBJECT_KEYS} keys in one object, naming the top-level field it is in`, () => {
    expect(findJsonLimitBreach(object(MAX_OBJECT_KEYS + 1))).toEqual({ limit: 'object-keys' });
    expect(findJsonLimitBreach(object(10_000))).toEqual({ limit: 'object-keys' });
    expect(findJsonLimitBreach(`{"name":"x","address":${object(MAX_OBJECT_KEYS + 1)}}`)).toEqual({ limit: 'object-keys', field: '"address"' });
  });

  it(`refuses more than ${MAX_TOTAL_KEYS} keys in all`, () => {
    const spread = `{${Array.from({ length: 8 }, (_, i) => `"o${i}":${object(40)}`).join(',')}}`;
    expect(findJsonLimitBreach(spread)).toEqual({ limit: 'total-keys', field: '"o6"' });
  });

  it(`refuses more than ${MAX_ARRAY_ITEMS} items in one array, or ${MAX_TOTAL_ITEMS} in all`, () => {
    expect(findJsonLimitBreach(`{"a":${array(MAX_ARRAY_ITEMS + 1)}}`)).toEqual({ limit: 'array-items', field: '"a"' });
    expect(findJsonLimitBreach(array(20_000))).toEqual({ limit: 'array-items' });
    const many = `{"a":[${Array.from({ length: MAX_TOTAL_ITEMS + 1 }, () => '[]').join(',')}]}`;
    expect(findJsonLimitBreach(many)?.limit).toBe('array-items');
    const small = `{${Array.from({ length: 60 }, (_, i) => `"a${i}":${array(20)}`).join(',')}}`;
    expect(findJsonLimitBreach(small)).toEqual({ limit: 'total-items', field: '"a51"' });
  });

  it(`refuses nesting deeper than ${MAX_JSON_DEPTH}, naming the field`, () => {
    expect(findJsonLimitBreach(`{"ok":1,"name":${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}}`)).toEqual({ limit: 'depth', field: '"name"' });
    expect(findJsonLimitBreach('['.repeat(50_000))).toEqual({ limit: 'depth' });
  });
});
