import fc from 'fast-check';
import { type Json, Obj } from './json.js';

/**
 * The request classes issue 11 added to the fuzz suite ("Done when"): bodies
 * near and past the JSON shape bounds, every ISO 8601 form of a date-time
 * parameter, and cursors issued to someone else. (Case-folding usernames
 * need a lockout, so they have a file of their own: usernames.fuzz.ts.)
 * The bounds and the rule are written here as the issue and the README state
 * them, not imported from src/, so the suite checks the server against them.
 */

// ---------------------------------------------------------------- JSON shape bounds

export type JsonBound = 'object-keys' | 'total-keys' | 'array-items' | 'total-items';

/** 64 keys per object, 256 in all, 256 items per array, 1,024 in all (README, Security). */
export const JSON_BOUNDS: Record<JsonBound, number> = { 'object-keys': 64, 'total-keys': 256, 'array-items': 256, 'total-items': 1024 };

/** What the 400 for each bound says: it names the limit. */
export const JSON_BOUND_DETAIL: Record<JsonBound, RegExp> = {
  'object-keys': /more than 64 keys/,
  'total-keys': /more than 256 keys in all/,
  'array-items': /more than 256 items/,
  'total-items': /more than 1024 array items in all/,
};

/** A body at, just under or just past a bound, built around a clean body. */
export interface JsonBoundCase {
  bound: JsonBound;
  /** The count the body reaches for that bound. */
  count: number;
  /** How the keys or items are laid out. */
  layout: string;
  build(clean: Obj, keyLength: number): Json;
}

/** The tag a request with such a body carries: json-bound:<bound>:<over|within>. */
export const jsonBoundTag = (c: Pick<JsonBoundCase, 'bound' | 'count'>) =>
  `json-bound:${c.bound}:${c.count > JSON_BOUNDS[c.bound] ? 'over' : 'within'}`;

export function parseJsonBoundTag(tags: string[]): { bound: JsonBound; over: boolean } | undefined {
  const tag = tags.find((t) => t.startsWith('json-bound:'));
  if (!tag) return undefined;
  const [, bound, side] = tag.split(':');
  return { bound: bound as JsonBound, over: side === 'over' };
}

const key = (prefix: string, i: number, length: number) => `${prefix}${i}_`.padEnd(length, 'x');
const objectOf = (prefix: string, n: number, length: number) => new Obj(Array.from({ length: n }, (_, i): [string, Json] => [key(prefix, i, length), i]));
/** `total` split into `parts` counts of at most `max` each (the last ones smaller). */
const split = (total: number, parts: number, max: number) =>
  Array.from({ length: parts }, (_, i) => Math.max(0, Math.min(max, total - i * max)));

function cases(): JsonBoundCase[] {
  const out: JsonBoundCase[] = [];
  for (const count of [63, 64, 65]) {
    // The body itself: its own fields plus unknown ones up to `count` keys.
    out.push({
      bound: 'object-keys',
      count,
      layout: 'top level',
      build: (clean, len) => new Obj([...clean.entries, ...objectOf('k', Math.max(0, count - clean.entries.length), len).entries]),
    });
  }
  for (const count of [64, 65]) {
    // One field holding an object of `count` keys.
    out.push({
      bound: 'object-keys',
      count,
      layout: 'in a field',
      build: (clean, len) => clean.with(clean.keys()[0] ?? 'name', objectOf('k', count, len)),
    });
  }
  for (const count of [255, 256, 257]) {
    // Five extra fields, each an object of at most 63 keys, so no object passes its own bound.
    out.push({
      bound: 'total-keys',
      count,
      layout: 'over five nested objects',
      build: (clean, len) => {
        const top = clean.entries.length + 5;
        const nested = split(count - top, 5, 63);
        return new Obj([...clean.entries, ...nested.map((n, o): [string, Json] => [`o${o}`, objectOf(`o${o}k`, n, len)])]);
      },
    });
  }
  for (const count of [255, 256, 257]) {
    out.push({
      bound: 'array-items',
      count,
      layout: 'one array in a field',
      build: (clean) => clean.with(clean.keys()[0] ?? 'name', Array.from({ length: count }, (_, i) => i)),
    });
  }
  for (const count of [1023, 1024, 1025]) {
    // Five arrays of at most 256 items each.
    out.push({
      bound: 'total-items',
      count,
      layout: 'over five arrays',
      build: (clean) => new Obj([...clean.entries, ...split(count, 5, 256).map((n, a): [string, Json] => [`a${a}`, Array(n).fill(1)])]),
    });
  }
  return out;
}

export const JSON_BOUND_CASES: readonly JsonBoundCase[] = cases();

/** Key lengths: short, and long enough that a body near a key bound is tens of KB (still under the 100 KB limit). */
export const jsonBoundKeyLength = (c: JsonBoundCase) => fc.constantFrom(...(c.bound === 'object-keys' ? [2, 40, 1400] : [2, 40, 300]));

// ---------------------------------------------------------------- ISO 8601 date-times

/**
 * rfc3339: accepted (200). other: an ISO 8601 (or near) form RFC 3339 does
 * not allow, or no real instant: 400 naming the parameter. either: RFC 3339's
 * grammar allows it but the server may refuse it (a leap second has no Date;
 * the server reads at most 9 fraction digits; the space for T is a note in
 * RFC 3339, not its grammar; year 0000): never a 500.
 */
export type DateVerdict = 'rfc3339' | 'other' | 'either';

export interface DateForm {
  form: string;
  verdict: DateVerdict;
  make(d: Parts): string;
}

interface Parts {
  Y: string;
  M: string;
  D: string;
  h: string;
  m: string;
  s: string;
  /** ISO week-numbering year, week and weekday; ordinal day. */
  wY: string;
  W: string;
  wd: string;
  o: string;
  frac: string;
  off: string;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

function parts(date: Date, frac: string, off: string): Parts {
  const Y = date.getUTCFullYear();
  const start = Date.UTC(Y, 0, 1);
  const ordinal = Math.floor((Date.UTC(Y, date.getUTCMonth(), date.getUTCDate()) - start) / 86_400_000) + 1;
  // ISO week: the week with the year's first Thursday is week 1.
  const wd = date.getUTCDay() || 7;
  const thursday = new Date(Date.UTC(Y, date.getUTCMonth(), date.getUTCDate() + 4 - wd));
  const wY = thursday.getUTCFullYear();
  const W = Math.ceil(((thursday.getTime() - Date.UTC(wY, 0, 1)) / 86_400_000 + 1) / 7);
  return {
    Y: pad(Y, 4),
    M: pad(date.getUTCMonth() + 1),
    D: pad(date.getUTCDate()),
    h: pad(date.getUTCHours()),
    m: pad(date.getUTCMinutes()),
    s: pad(date.getUTCSeconds()),
    wY: pad(wY, 4),
    W: pad(W),
    wd: String(wd),
    o: pad(ordinal, 3),
    frac,
    off,
  };
}

const ext = (p: Parts) => `${p.Y}-${p.M}-${p.D}`;
const time = (p: Parts) => `${p.h}:${p.m}:${p.s}`;

export const DATE_FORMS: readonly DateForm[] = [
  // RFC 3339 section 5.6.
  { form: 'RFC 3339, Z', verdict: 'rfc3339', make: (p) => `${ext(p)}T${time(p)}Z` },
  { form: 'RFC 3339, fraction', verdict: 'rfc3339', make: (p) => `${ext(p)}T${time(p)}.${p.frac}Z` },
  { form: 'RFC 3339, numeric offset', verdict: 'rfc3339', make: (p) => `${ext(p)}T${time(p)}${p.off}` },
  { form: 'RFC 3339, fraction and offset', verdict: 'rfc3339', make: (p) => `${ext(p)}T${time(p)}.${p.frac}${p.off}` },
  { form: 'RFC 3339, -00:00', verdict: 'rfc3339', make: (p) => `${ext(p)}T${time(p)}-00:00` },
  { form: 'RFC 3339, lower-case t and z', verdict: 'rfc3339', make: (p) => `${ext(p)}t${time(p)}z` },
  { form: 'RFC 3339, 29 February of a leap year', verdict: 'rfc3339', make: (p) => `2028-02-29T${time(p)}Z` },
  { form: 'RFC 3339, last instant of a year', verdict: 'rfc3339', make: () => '2026-12-31T23:59:59.999999999+14:00' },
  // RFC 3339's grammar, which the server may still refuse.
  { form: 'leap second', verdict: 'either', make: (p) => `${ext(p)}T23:59:60Z` },
  { form: 'fraction of 10+ digits', verdict: 'either', make: (p) => `${ext(p)}T${time(p)}.${p.frac.padEnd(10, '0')}1Z` },
  { form: 'space for T', verdict: 'either', make: (p) => `${ext(p)} ${time(p)}Z` },
  { form: 'year 0000', verdict: 'either', make: (p) => `0000-${p.M}-${p.D}T${time(p)}Z` },
  // ISO 8601 forms RFC 3339 leaves out.
  { form: 'week date', verdict: 'other', make: (p) => `${p.wY}-W${p.W}-${p.wd}` },
  { form: 'week date and time', verdict: 'other', make: (p) => `${p.wY}-W${p.W}-${p.wd}T${time(p)}Z` },
  { form: 'week date, basic', verdict: 'other', make: (p) => `${p.wY}W${p.W}${p.wd}T${p.h}${p.m}${p.s}Z` },
  { form: 'week, no day', verdict: 'other', make: (p) => `${p.wY}-W${p.W}` },
  { form: 'ordinal date', verdict: 'other', make: (p) => `${p.Y}-${p.o}` },
  { form: 'ordinal date and time', verdict: 'other', make: (p) => `${p.Y}-${p.o}T${time(p)}Z` },
  { form: 'ordinal date, basic', verdict: 'other', make: (p) => `${p.Y}${p.o}T${p.h}${p.m}${p.s}Z` },
  { form: 'basic calendar date-time', verdict: 'other', make: (p) => `${p.Y}${p.M}${p.D}T${p.h}${p.m}${p.s}Z` },
  { form: 'basic, with basic offset', verdict: 'other', make: (p) => `${p.Y}${p.M}${p.D}T${p.h}${p.m}${p.s}${p.off.replace(':', '')}` },
  { form: 'basic date only', verdict: 'other', make: (p) => `${p.Y}${p.M}${p.D}` },
  { form: 'extended, basic offset', verdict: 'other', make: (p) => `${ext(p)}T${time(p)}${p.off.replace(':', '')}` },
  { form: 'offset in hours only', verdict: 'other', make: (p) => `${ext(p)}T${time(p)}${p.off.slice(0, 3)}` },
  { form: 'no offset (local time)', verdict: 'other', make: (p) => `${ext(p)}T${time(p)}` },
  { form: 'no offset, with fraction', verdict: 'other', make: (p) => `${ext(p)}T${time(p)}.${p.frac}` },
  { form: 'minutes only', verdict: 'other', make: (p) => `${ext(p)}T${p.h}:${p.m}Z` },
  { form: 'hours only', verdict: 'other', make: (p) => `${ext(p)}T${p.h}Z` },
  { form: 'date only', verdict: 'other', make: (p) => ext(p) },
  { form: 'year and month', verdict: 'other', make: (p) => `${p.Y}-${p.M}` },
  { form: 'year only', verdict: 'other', make: (p) => p.Y },
  { form: 'comma fraction', verdict: 'other', make: (p) => `${ext(p)}T${time(p)},${p.frac}Z` },
  { form: 'fraction without digits', verdict: 'other', make: (p) => `${ext(p)}T${time(p)}.Z` },
  { form: 'fractional minute', verdict: 'other', make: (p) => `${ext(p)}T${p.h}:${p.m}.5Z` },
  { form: 'fractional hour', verdict: 'other', make: (p) => `${ext(p)}T${p.h}.25Z` },
  { form: 'time only', verdict: 'other', make: (p) => `T${time(p)}Z` },
  { form: 'time only, no T', verdict: 'other', make: (p) => `${time(p)}Z` },
  { form: 'expanded year', verdict: 'other', make: (p) => `+0${p.Y}-${p.M}-${p.D}T${time(p)}Z` },
  { form: 'interval', verdict: 'other', make: (p) => `${ext(p)}T${time(p)}Z/P1D` },
  { form: 'duration', verdict: 'other', make: () => 'P1DT2H' },
  { form: 'no separator', verdict: 'other', make: (p) => `${ext(p)}${time(p)}Z` },
  { form: '24:00 (end of day)', verdict: 'other', make: (p) => `${ext(p)}T24:00:00Z` },
  { form: 'hour 25', verdict: 'other', make: (p) => `${ext(p)}T25:${p.m}:${p.s}Z` },
  { form: 'minute 60', verdict: 'other', make: (p) => `${ext(p)}T${p.h}:60:${p.s}Z` },
  { form: 'second 61', verdict: 'other', make: (p) => `${ext(p)}T${p.h}:${p.m}:61Z` },
  { form: '30 February', verdict: 'other', make: (p) => `${p.Y}-02-30T${time(p)}Z` },
  { form: '29 February of a common year', verdict: 'other', make: (p) => `2026-02-29T${time(p)}Z` },
  { form: '31 April', verdict: 'other', make: (p) => `${p.Y}-04-31T${time(p)}Z` },
  { form: 'month 13', verdict: 'other', make: (p) => `${p.Y}-13-${p.D}T${time(p)}Z` },
  { form: 'day 00', verdict: 'other', make: (p) => `${p.Y}-${p.M}-00T${time(p)}Z` },
  { form: 'offset +24:00', verdict: 'other', make: (p) => `${ext(p)}T${time(p)}+24:00` },
  { form: 'offset minutes 60', verdict: 'other', make: (p) => `${ext(p)}T${time(p)}+05:60` },
  { form: 'one-digit fields', verdict: 'other', make: (p) => `${p.Y}-1-5T7:${p.m}:${p.s}Z` },
  { form: 'leading space', verdict: 'other', make: (p) => ` ${ext(p)}T${time(p)}Z` },
  { form: 'trailing text', verdict: 'other', make: (p) => `${ext(p)}T${time(p)}Zx` },
  { form: 'JavaScript Date string', verdict: 'other', make: () => 'Thu Dec 03 2026 07:00:00 GMT+0000' },
  { form: 'epoch seconds', verdict: 'other', make: () => '1796281200' },
];

/** A value of `form` for a random instant, fraction and offset. */
export function dateValue(form: DateForm): fc.Arbitrary<string> {
  return fc
    .tuple(
      fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T00:00:00Z'), noInvalidDate: true }),
      fc.integer({ min: 1, max: 9 }).chain((n) => fc.stringMatching(new RegExp(`^[0-9]{${n}}$`))),
      fc.tuple(fc.constantFrom('+', '-'), fc.integer({ min: 0, max: 14 }), fc.constantFrom(0, 15, 30, 45)),
    )
    .map(([d, frac, [sign, h, m]]) => form.make(parts(d, frac, `${sign}${pad(h)}:${pad(m)}`)));
}

/** Any form: its value (percent-encoded for a query string) and verdict. */
export const anyDateTime: fc.Arbitrary<{ value: string; verdict: DateVerdict; form: string }> = fc
  .constantFrom(...DATE_FORMS)
  .chain((form) => dateValue(form).map((value) => ({ value: encodeURIComponent(value), verdict: form.verdict, form: form.form })));
