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

/** PostgreSQL errors that a client's value could cause, in case validation missed one. */
const CLIENT_SQLSTATES: Record<string, { status: number; detail: string }> = {
  '23505': { status: 409, detail: 'A record with the same unique value already exists.' },
  '23503': { status: 409, detail: 'The record refers to, or is referred to by, another record.' },
  '22P02': { status: 400, detail: 'A value has an invalid format.' },
  '22003': { status: 400, detail: 'A number is out of range.' },
  '22021': { status: 400, detail: 'A string contains a character that cannot be stored.' },
  '22001': { status: 400, detail: 'A string is too long.' },
  '23514': { status: 400, detail: 'A value breaks a rule of the record.' },
};

/**
 * The client error a database error stands for, if it is one: the states
 * above, and any other of class 22 (data exception: a date out of range, a
 * bad datetime format, a division by zero), which only a value can cause.
 */
export function clientSqlError(error: unknown): { status: number; detail: string } | undefined {
  const state = sqlState(error);
  if (!state) return undefined;
  return CLIENT_SQLSTATES[state] ?? (state.startsWith('22') ? { status: 400, detail: 'A value is not valid data.' } : undefined);
}

/**
 * SQLSTATEs that mean "the database cannot serve right now", not "this
 * request is wrong": connection exceptions (08), insufficient resources (53),
 * operator intervention (57: shutdown, crash, statement timeout), and the
 * retryable serialization failure and deadlock (40001, 40P01).
 */
const UNAVAILABLE_STATE = /^(08|53|57|40001$|40P01$)/;
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE', 'EAI_AGAIN']);
/** node-postgres reports pool and socket failures by message only. */
const UNAVAILABLE_MESSAGE =
  /timeout exceeded when trying to connect|Connection terminated|connection timeout|Client has encountered a connection error|Connection is closed|terminating connection|is not queryable/i;

/** True when an error (or what it wraps) says the database is down, overloaded or unreachable: a 503, not a 500. */
export function databaseUnavailable(error: unknown, depth = 0): boolean {
  if (!error || typeof error !== 'object' || depth > 3) return false;
  const { code, message, driverError, cause } = error as { code?: unknown; message?: unknown; driverError?: unknown; cause?: unknown };
  if (typeof code === 'string' && (UNAVAILABLE_CODES.has(code) || (/^[0-9A-Z]{5}$/.test(code) && UNAVAILABLE_STATE.test(code)))) {
    return true;
  }
  if (typeof message === 'string' && UNAVAILABLE_MESSAGE.test(message)) return true;
  return databaseUnavailable(driverError, depth + 1) || databaseUnavailable(cause, depth + 1);
}

/** Seconds a client should wait before retrying when the database is unavailable. */
export const DATABASE_RETRY_AFTER = 2;
