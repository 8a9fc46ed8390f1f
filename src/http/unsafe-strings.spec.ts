import { describe, expect, it } from '@jest/globals';
import { fieldLabel } from '../common/field-names.js';
import { findUnsafeString, unsafeStringError } from './unsafe-strings.js';

describe('findUnsafeString', () => {
  it.each([
    ['a NUL', { name: 'a\u0000b' }, 'name'],
    ['a lone high surrogate', { name: 'a\ud800' }, 'name'],
    ['a lone low surrogate', { name: '\udc00b' }, 'name'],
    ['a reversed pair', { name: '\ude7a\ud83e' }, 'name'],
    ['a nested value', { a: { b: ['ok', 'x\u0000'] } }, 'a.b[1]'],
    ['a key', { 'k\u0000': 1 }, 'k\u0000'],
    ['a nested key', { a: { '\ud800': 'x' } }, 'a.\ud800'],
    ['a top-level string', 'x\u0000', '(body)'],
    ['an array item', ['ok', '\ud800'], '[1]'],
  ])('finds %s', (_kind, value, path) => {
    expect(findUnsafeString(value)).toBe(path);
  });

  it.each([
    ['plain text', { name: 'Grace Hopper', address: 'Straße 5\nBerlin\t' }],
    ['a paired surrogate (emoji)', { name: 'Dr 🩺', tags: ['\ud83e\ude7a'] }],
    ['non-strings', { a: 1, b: true, c: null, d: [1.5, -0], e: {} }],
    ['a query object', { search: 'abc', page_size: '20' }],
  ])('passes %s', (_kind, value) => {
    expect(findUnsafeString(value)).toBeUndefined();
  });

  it('passes null, undefined and numbers', () => {
    expect(findUnsafeString(null)).toBeUndefined();
    expect(findUnsafeString(undefined)).toBeUndefined();
    expect(findUnsafeString(0)).toBeUndefined();
  });
});

describe('unsafeStringError', () => {
  it('is a 400 naming the path, in errors as validation does', () => {
    const error = unsafeStringError('address');
    expect(error.getStatus()).toBe(400);
    expect(error.message).toMatch(/^address contains a NUL character or an unpaired surrogate/);
    expect(error.errors).toEqual({ address: ['address contains a NUL character or an unpaired surrogate, which cannot be stored'] });
  });

  it('names an unsafe key by its JSON escape, never the raw character', () => {
    const error = unsafeStringError('na\u0000me');
    expect(error.message).toMatch(/^A field name contains/);
    expect(Object.keys(error.errors)).toEqual(['na\\u0000me']);
    expect(JSON.stringify(error.errors)).not.toMatch(/[^\\]\\u0000/);
  });
});


describe(fieldLabel.name, () => {
  it('keeps a plain name, escapes unsafe characters and cuts long names', () => {
    expect(fieldLabel('address')).toBe('address');
    expect(fieldLabel('\ud800x')).toBe('\\ud800x');
    expect(fieldLabel('k'.repeat(10_000))).toBe(`${'k'.repeat(64)}…`);
  });
});
