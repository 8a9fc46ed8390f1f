import { QueryFailedError } from 'typeorm';

/** The SQLSTATE of a database error, if it is one. */
export function sqlState(error: unknown): string | undefined {
  return error instanceof QueryFailedError ? (error.driverError as { code?: string } | undefined)?.code : undefined;
}

/** The constraint a database error names (unique, foreign key, check), if any. */
export function constraintOf(error: unknown): string {
  return error instanceof QueryFailedError
    ? String((error.driverError as { constraint?: string } | undefined)?.constraint ?? '')
    : '';
}

export const UNIQUE_VIOLATION = '23505';
export const FOREIGN_KEY_VIOLATION = '23503';
