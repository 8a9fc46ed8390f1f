import { ValidationPipe, type ValidationError } from '@nestjs/common';
import { fieldLabel } from './field-names.js';
import { ValidationFailedException } from './problem.js';

/** An error lists at most this many unknown fields and says how many more there were (issue 11, item 2). */
export const MAX_LISTED_UNKNOWN_FIELDS = 10;

/** Flattens class-validator errors into { "field.sub": [messages] } using wire names. */
export function flattenValidationErrors(errors: ValidationError[]): Record<string, string[]> {
  return collect(errors, '', {}, []);
}

/** Fills `out`, and `unknown` with the paths of fields no DTO declares. */
function collect(errors: ValidationError[], prefix: string, out: Record<string, string[]>, unknown: string[]): Record<string, string[]> {
  for (const error of errors) {
    const path = fieldLabel(prefix ? `${prefix}.${error.property}` : error.property);
    if (error.constraints) {
      if (error.constraints.whitelistValidation) unknown.push(path);
      // class-validator reports a property's rules bottom-up; reversed, they read in
      // declaration order, so the type rule ("must be an integer") comes first.
      const messages = Object.entries(error.constraints)
        .reverse()
        .map(([name, message]) => (name === 'whitelistValidation' ? `${fieldLabel(error.property)} is not an allowed field` : message));
      // Two rules can share one message (e.g. "page_size must be a positive integer").
      out[path] = [...new Set(messages)];
    }
    if (error.children?.length) collect(error.children, path, out, unknown);
  }
  return out;
}

/** The pipe's 400: every bad field, and the first unknown ones with a count of the rest. */
function validationFailed(errors: ValidationError[]): ValidationFailedException {
  const unknown: string[] = [];
  const fields = collect(errors, '', {}, unknown);
  for (const path of unknown.slice(MAX_LISTED_UNKNOWN_FIELDS)) delete fields[path];
  const topLevel = errors.filter((e) => e.constraints?.whitelistValidation).map((e) => fieldLabel(e.property));
  const listed = topLevel.slice(0, MAX_LISTED_UNKNOWN_FIELDS);
  const more = unknown.length - Math.min(unknown.length, MAX_LISTED_UNKNOWN_FIELDS);
  const detail =
    topLevel.length === 0
      ? 'The request is invalid; see errors for each field.'
      : `Unknown field(s): ${listed.join(', ')}${more > 0 ? ` and ${more} more` : ''}.`;
  return new ValidationFailedException(fields, detail);
}

/**
 * The global pipe: strips nothing silently (unknown fields are an error),
 * converts nothing implicitly (a "25" is not an integer), and reports every
 * bad field at once.
 */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    validationError: { target: false, value: false },
    exceptionFactory: validationFailed,
  });
}
