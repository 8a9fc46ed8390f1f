import { ValidationPipe, type ValidationError } from '@nestjs/common';
import { ValidationFailedException } from './problem.js';

/** Flattens class-validator errors into { "field.sub": [messages] } using wire names. */
export function flattenValidationErrors(errors: ValidationError[], prefix = ''): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const error of errors) {
    const path = prefix ? `${prefix}.${error.property}` : error.property;
    if (error.constraints) {
      // class-validator reports a property's rules bottom-up; reversed, they read in
      // declaration order, so the type rule ("must be an integer") comes first.
      const messages = Object.entries(error.constraints)
        .reverse()
        .map(([name, message]) => (name === 'whitelistValidation' ? `${error.property} is not an allowed field` : message));
      // Two rules can share one message (e.g. "page_size must be a positive integer").
      out[path] = [...new Set(messages)];
    }
    if (error.children?.length) Object.assign(out, flattenValidationErrors(error.children, path));
  }
  return out;
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
    exceptionFactory: (errors) => {
      const fields = flattenValidationErrors(errors);
      const unknown = errors.filter((e) => e.constraints?.whitelistValidation).map((e) => e.property);
      const detail = unknown.length
        ? `Unknown field(s): ${unknown.join(', ')}.`
        : 'The request is invalid; see errors for each field.';
      return new ValidationFailedException(fields, detail);
    },
  });
}
