import { describe, expect, it } from '@jest/globals';
import { isRfc3339DateTime } from './date-time.js';

describe(isRfc3339DateTime.name, () => {
  it.each([
    '2026-12-03T07:00:00Z',
    '2026-12-03T07:00:00.5Z',
    '2026-12-03T07:00:00.123456789Z',
    '2026-12-03T07:00:00+05:30',
    '2026-12-03T07:00:00.250-08:00',
    '2026-12-03t07:00:00z',
    '2024-02-29T23:59:59Z',
    '0001-01-01T00:00:00Z',
    '9999-12-31T23:59:59-23:59',
  ])('accepts %s', (value) => {
    expect(isRfc3339DateTime(value)).toBe(true);
    expect(Number.isNaN(new Date(value).getTime())).toBe(false);
  });

  it.each([
    ['a week date', '2026-W49-4'],
    ['a week date with a time', '2026-W49-4T07:00:00Z'],
    ['an ordinal date', '2026-337'],
    ['an ordinal date with a time', '2026-337T07:00:00Z'],
    ['the basic format', '20261203T070000Z'],
    ['a basic date, extended time', '20261203T07:00:00Z'],
    ['a date only', '2026-12-03'],
    ['a year and month', '2026-12'],
    ['a year', '2026'],
    ['no seconds', '2026-12-03T07:00Z'],
    ['no offset', '2026-12-03T07:00:00'],
    ['an hour-only offset', '2026-12-03T07:00:00+05'],
    ['a basic offset', '2026-12-03T07:00:00+0530'],
    ['a comma fraction', '2026-12-03T07:00:00,5Z'],
    ['a fraction of the hour', '2026-12-03T07.5Z'],
    ['a space for the T', '2026-12-03 07:00:00Z'],
    ['hour 24', '2026-12-03T24:00:00Z'],
    ['a leap second', '2026-12-31T23:59:60Z'],
    ['February 30', '2026-02-30T00:00:00Z'],
    ['February 29 of a common year', '2026-02-29T00:00:00Z'],
    ['February 29 of 1900', '1900-02-29T00:00:00Z'],
    ['month 13', '2026-13-01T00:00:00Z'],
    ['day 0', '2026-12-00T00:00:00Z'],
    ['year 0', '0000-01-01T00:00:00Z'],
    ['an expanded year', '+002026-12-03T07:00:00Z'],
    ['an offset past a day', '2026-12-03T07:00:00+24:00'],
    ['a ten-digit fraction', '2026-12-03T07:00:00.1234567890Z'],
    ['trailing text', '2026-12-03T07:00:00Zx'],
    ['a duration', 'P1D'],
    ['an interval', '2026-12-03T07:00:00Z/2026-12-04T07:00:00Z'],
    ['a non-ASCII digit', '２026-12-03T07:00:00Z'],
    ['empty', ''],
  ])('refuses %s (%s)', (_kind, value) => {
    expect(isRfc3339DateTime(value)).toBe(false);
  });

  it('refuses what is not a string', () => {
    for (const value of [undefined, null, 0, new Date(), ['2026-12-03T07:00:00Z']]) expect(isRfc3339DateTime(value)).toBe(false);
  });
});
