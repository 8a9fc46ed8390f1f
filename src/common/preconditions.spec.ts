import { describe, expect, it } from '@jest/globals';
import { etagOf, isConditional, notModified, parseTagSet, preconditionsOf } from './preconditions.js';
import { ValidationFailedException } from './problem.js';

describe('conditional request headers (RFC 9110, section 13)', () => {
  it('reads *, one tag, a list, weak and strong tags alike', () => {
    expect(parseTagSet('*')).toBe('*');
    expect(parseTagSet(' * ')).toBe('*');
    expect(parseTagSet('W/"3"')).toEqual([3]);
    expect(parseTagSet('"3"')).toEqual([3]);
    expect(parseTagSet('W/"1", "2" ,W/"30"')).toEqual([1, 2, 30]);
    // Empty list elements are ignored (RFC 9110, section 5.6.1).
    expect(parseTagSet('W/"1",, ,W/"2"')).toEqual([1, 2]);
  });

  it('a well-formed tag that names no version is kept as matching nothing', () => {
    expect(parseTagSet('"abc"')).toEqual([]);
    expect(parseTagSet('""')).toEqual([]);
    expect(parseTagSet('"0"')).toEqual([]);
    expect(parseTagSet('"01"')).toEqual([]);
    expect(parseTagSet('"2147483648"')).toEqual([]);
    expect(parseTagSet('"2147483647", "abc"')).toEqual([2147483647]);
  });

  it.each(['', ' ', ',', 'abc', '3', 'W/3', 'w/"3"', '"3', '3"', 'W/"1" W/"2"', '"a"b"', '"é"', '*, W/"1"', '"a b"'])(
    'refuses %j as malformed',
    (header) => {
      expect(parseTagSet(header)).toBeNull();
    },
  );

  it('a malformed header is a 400 naming it in errors', () => {
    expect.assertions(3);
    try {
      preconditionsOf({ 'if-match': 'W/"1"', 'if-none-match': 'nope' });
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationFailedException);
      expect((error as ValidationFailedException).errors).toEqual({
        'If-None-Match': ['If-None-Match must be "*" or a comma-separated list of entity tags, such as W/"3"'],
      });
      expect((error as ValidationFailedException).message).toBe('The If-None-Match header is malformed.');
    }
  });

  // How a write evaluates them is its UPDATE's WHERE (TableQueries.whereVersion), proven over HTTP on both
  // databases in test/conditional-requests.e2e.spec.ts; here, only which requests carry a condition.
  it('tells a conditional request from one without conditions', () => {
    expect(isConditional(preconditionsOf({}))).toBe(false);
    expect(isConditional(preconditionsOf({ 'if-match': 'W/"6", W/"7"' }))).toBe(true);
    expect(isConditional(preconditionsOf({ 'if-none-match': '*' }))).toBe(true);
    expect(preconditionsOf({ 'if-match': 'W/"6", W/"7"', 'if-none-match': '*' })).toEqual({ ifMatch: [6, 7], ifNoneMatch: '*' });
  });

  it('304 only when If-None-Match names the current version (or is *)', () => {
    expect(notModified(preconditionsOf({ 'if-none-match': 'W/"4"' }), 4)).toBe(true);
    expect(notModified(preconditionsOf({ 'if-none-match': '*' }), 4)).toBe(true);
    expect(notModified(preconditionsOf({ 'if-none-match': 'W/"3"' }), 4)).toBe(false);
    expect(notModified(preconditionsOf({ 'if-match': 'W/"4"' }), 4)).toBe(false);
  });

  it('tags are weak, as a version names an equivalent representation, not identical bytes', () => {
    expect(etagOf(12)).toBe('W/"12"');
    expect(parseTagSet(etagOf(12))).toEqual([12]);
  });
});
