import { dictionary } from '@zxcvbn-ts/language-common';
import { registerDecorator, type ValidationArguments } from 'class-validator';

export const PASSWORD_MIN_LENGTH = 8;
/** Long enough for passphrases; argon2 never truncates, so neither do we. */
export const PASSWORD_MAX_LENGTH = 128;

/**
 * About 49,000 common passwords, as shipped by @zxcvbn-ts/language-common (the
 * same role as Django's CommonPasswordValidator list).
 */
const COMMON_PASSWORDS: ReadonlySet<string> = new Set(
  (dictionary['passwords-common'] as string[]).map((p) => p.toLowerCase()),
);

/** Django's UserAttributeSimilarityValidator threshold. */
const MAX_SIMILARITY = 0.7;

/**
 * difflib.SequenceMatcher.quick_ratio(): an upper bound on similarity that
 * counts shared characters regardless of order, as Django uses it.
 */
function quickRatio(a: string, b: string): number {
  if (a.length + b.length === 0) return 1;
  const counts = new Map<string, number>();
  for (const ch of b) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let matches = 0;
  for (const ch of a) {
    const n = counts.get(ch) ?? 0;
    if (n > 0) {
      matches++;
      counts.set(ch, n - 1);
    }
  }
  return (2 * matches) / (a.length + b.length);
}

export interface PasswordContext {
  username?: string;
  email?: string;
}

/**
 * Returns the rules the password breaks (empty when it is acceptable): Django's
 * four default validators, with a maximum length that is never silently cut.
 */
export function checkPassword(password: string, context: PasswordContext = {}): string[] {
  const problems: string[] = [];
  // Characters, not UTF-16 code units: four emoji are four characters, as Django (and JSON Schema's minLength) count them.
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) {
    problems.push(`password must be at least ${PASSWORD_MIN_LENGTH} characters`);
  }
  if (length > PASSWORD_MAX_LENGTH) {
    problems.push(`password must be at most ${PASSWORD_MAX_LENGTH} characters`);
  }
  if (/^\d+$/.test(password)) problems.push('password must not be entirely numeric');
  if (COMMON_PASSWORDS.has(password.trim().toLowerCase())) problems.push('password is too common');

  const lower = password.toLowerCase();
  for (const [attribute, value] of Object.entries(context)) {
    if (!value) continue;
    const parts = [value, ...value.split(/\W+/u)].filter((p) => p.length > 0);
    if (parts.some((part) => quickRatio(lower, part.toLowerCase()) >= MAX_SIMILARITY)) {
      problems.push(`password is too similar to the ${attribute}`);
    }
  }
  return problems;
}

/**
 * The password rules as a class-validator rule, so a weak password is
 * reported with every other field of the request in one 400. `similarTo`
 * names the sibling fields it must not resemble (e.g. username, email).
 */
export function AcceptablePassword(similarTo: readonly string[] = []) {
  const problemsOf = (args: ValidationArguments): string[] => {
    if (typeof args.value !== 'string') return []; // @IsString reports that.
    const siblings = args.object as Record<string, unknown>;
    const context: PasswordContext = {};
    for (const field of similarTo) {
      const value = siblings[field];
      if (typeof value === 'string') context[field as keyof PasswordContext] = value;
    }
    return checkPassword(args.value, context);
  };
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'acceptablePassword',
      target: target.constructor,
      propertyName,
      validator: {
        validate: (_value: unknown, args: ValidationArguments) => problemsOf(args).length === 0,
        defaultMessage: (args: ValidationArguments) => problemsOf(args).join('; '),
      },
    });
}
