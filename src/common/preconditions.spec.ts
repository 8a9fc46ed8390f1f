import { describe, expect, it } from '@jest/globals';
import { etagOf, isConditional, notModified, parseTagSet, passes, preconditionsOf } from './preconditions.js';
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

  it('evaluates If-Match and If-None-Match against a version as the write statement does', () => {
    const none = preconditionsOf({});
    expect(isConditional(none)).toBe(false);
    expect(passes(none, 7)).toBe(true);

    const match = preconditionsOf({ 'if-match': 'W/"6", W/"7"' });
    expect(isConditional(match)).toBe(true);
    expect([passes(match, 7), passes(match, 8)]).toEqual([true, false]);
    expect(passes(preconditionsOf({ 'if-match': '*' }), 8)).toBe(true);
    expect(passes(preconditionsOf({ 'if-match': '"x"' }), 8)).toBe(false);

    expect(passes(preconditionsOf({ 'if-none-match': '*' }), 1)).toBe(false);
    expect([passes(preconditionsOf({ 'if-none-match': 'W/"2"' }), 1), passes(preconditionsOf({ 'if-none-match': 'W/"2"' }), 2)]).toEqual([true, false]);
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
