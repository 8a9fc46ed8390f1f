import { expect } from '@jest/globals';
import { ValidationFailedException } from '../../src/common/problem.js';

/** The field errors a call throws, or fails when it does not throw a 400. */
export function errorsOf(fn: () => unknown): Record<string, string[]> {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationFailedException);
    expect((error as ValidationFailedException).getStatus()).toBe(400);
    return (error as ValidationFailedException).errors;
  }
  throw new Error('expected a ValidationFailedException');
}

