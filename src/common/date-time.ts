import { buildMessage, ValidateBy, type ValidationOptions } from 'class-validator';

/**
 * RFC 3339's date-time (section 5.6): full date, T, full time with seconds,
 * an optional fraction and a required offset. ISO 8601's other forms (week
 * dates `2026-W49-4`, ordinal dates `2026-337`, the basic format
 * `20261203T070000Z`, reduced precision) pass class-validator's IsISO8601
 * but not `new Date()`, and reached the database as Invalid Date (issue 11,
 * item 10). T and Z may be lower case, as RFC 3339 allows.
 */
const RFC_3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(?:[Zz]|[+-](\d{2}):(\d{2}))$/;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysIn(year: number, month: number): number {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1];
}

/**
 * True for an RFC 3339 date-time that names a real instant: a day the month
 * has, hours to 23, minutes and seconds to 59 (a leap second has no Date),
 * offsets within a day; years 0001 to 9999.
 */
export function isRfc3339DateTime(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const m = RFC_3339.exec(value);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  const offsetHour = m[8] === undefined ? 0 : Number(m[8]);
  const offsetMinute = m[9] === undefined ? 0 : Number(m[9]);
  return (
    year >= 1 &&
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= daysIn(year, month) &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 59 &&
    offsetHour <= 23 &&
    offsetMinute <= 59 &&
    !Number.isNaN(new Date(value).getTime())
  );
}

/** The DTO decorator: `since must be an RFC 3339 date-time, such as 2026-12-03T07:00:00Z`. */
export function IsRfc3339DateTime(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isRfc3339DateTime',
      validator: {
        validate: (value) => isRfc3339DateTime(value),
        defaultMessage: buildMessage((each) => `${each}$property must be an RFC 3339 date-time, such as 2026-12-03T07:00:00Z`, options),
      },
    },
    options,
  );
}
