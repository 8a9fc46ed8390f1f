// Past 250 lines: the one schema of every variable (a decorated field each, with its why). class-validator checks one object in one pass, so one message names every bad variable; the typed namespaces built from it are app-config.ts.
import { plainToInstance, Transform } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Max,
  Matches,
  MaxLength,
  Min,
  MinLength,
  validateSync,
} from 'class-validator';

export const NODE_ENVS = ['development', 'production', 'test'] as const;
export type NodeEnv = (typeof NODE_ENVS)[number];

const toInt = ({ value }: { value: unknown }) =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : value;
const toBool = ({ value }: { value: unknown }) => {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  return value;
};
const toList = ({ value }: { value: unknown }) =>
  typeof value === 'string'
    ? value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : value;

/**
 * Every environment variable the app reads, with its default. `.env.example`
 * lists exactly these (test/env-example.spec.ts keeps the two in sync).
 */
export class EnvironmentVariables {
  @IsIn(NODE_ENVS)
  NODE_ENV: NodeEnv = 'development';

  @Transform(toInt)
  @Min(0)
  @Max(65535)
  @IsInt()
  PORT = 3000;

  @IsString()
  HOST = '127.0.0.1';

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL = 'info';

  /** postgres://user:pass@host:port/db; wins over the DB_* variables. */
  @IsOptional()
  @IsString()
  DATABASE_URL?: string;

  @IsOptional()
  @IsString()
  DB_NAME?: string;

  @IsOptional()
  @IsString()
  DB_USER?: string;

  @IsOptional()
  @IsString()
  DB_PASSWORD?: string;

  @IsString()
  DB_HOST = 'localhost';

  @Transform(toInt)
  @Min(1)
  @Max(65535)
  @IsInt()
  DB_PORT = 5432;

  @Transform(toInt)
  @Min(1)
  @Max(200)
  @IsInt()
  DB_POOL_SIZE = 10;

  /** Where the embedded PGlite database lives when no PostgreSQL is configured; `memory://` keeps it in memory. */
  @IsString()
  PGLITE_DATA_DIR = './data/pglite';

  @Transform(toBool)
  @IsBoolean()
  DB_MIGRATE_ON_START = true;

  /**
   * PostgreSQL with separate roles (`npm run cli -- db-roles`): migrations connect with this URL (the
   * owner role); the app's own queries use DATABASE_URL (the app role). Unset: migrations use DATABASE_URL.
   */
  @IsOptional()
  @IsString()
  DATABASE_MIGRATION_URL?: string;

  /**
   * Comma-separated PostgreSQL streaming replicas (postgres://... each): lists, searches and history pages may
   * be read there; single records, writes and everything inside a write stay on the primary. Empty: every
   * read goes to the primary.
   */
  @Transform(toList)
  @Matches(/^postgres(ql)?:\/\/\S+$/, { each: true, message: 'DATABASE_REPLICA_URLS must be comma-separated postgres:// URLs' })
  DATABASE_REPLICA_URLS: string[] = [];

  /** A replica further behind the primary than this (milliseconds) serves no read without a consistency token; 0: only a replica that has caught up. */
  @Transform(toInt)
  @Min(0)
  @Max(600_000)
  @IsInt()
  REPLICA_MAX_LAG_MS = 1000;

  /** `db-roles`: the role that owns the schema and runs migrations. */
  @Matches(/^[a-z_][a-z0-9_]{0,62}$/, { message: 'DB_OWNER_ROLE must be a lower-case SQL identifier' })
  DB_OWNER_ROLE = 'hc_owner';

  /** `db-roles`: the owner role's password (set when given; needed to create the role). */
  @IsOptional()
  @IsString()
  DB_OWNER_PASSWORD?: string;

  /** `db-roles`: the role the app connects as (DATABASE_URL's user). */
  @Matches(/^[a-z_][a-z0-9_]{0,62}$/, { message: 'DB_APP_ROLE must be a lower-case SQL identifier' })
  DB_APP_ROLE = 'hc_app';

  /** `db-roles`: the app role's password (set when given; needed to create the role). */
  @IsOptional()
  @IsString()
  DB_APP_PASSWORD?: string;

  /** HS256 signing key, at least 32 characters. Required in production. */
  @IsOptional()
  @IsString()
  @MinLength(32, { message: 'JWT_SECRET must be at least 32 characters' })
  JWT_SECRET?: string;

  /** Access token lifetime, seconds. */
  @Transform(toInt)
  @Min(10)
  @Max(86400)
  @IsInt()
  JWT_ACCESS_TTL = 900;

  /** A refresh token expires after this many seconds unused. */
  @Transform(toInt)
  @Min(10)
  @Max(30 * 86400)
  @IsInt()
  JWT_REFRESH_IDLE_TTL = 1800;

  /**
   * Seconds in which a refresh token just rotated may be presented again and
   * get the same new refresh token (a retry after a lost response, two tabs
   * refreshing at once) instead of ending the session as reuse. 0: no grace.
   */
  @Transform(toInt)
  @Min(0)
  @Max(60)
  @IsInt()
  JWT_REFRESH_GRACE = 5;

  /** A session (login) ends this many seconds after login, whatever happens. */
  @Transform(toInt)
  @Min(10)
  @Max(30 * 86400)
  @IsInt()
  JWT_SESSION_TTL = 43200;

  /**
   * Admins must sign in with a second factor (TOTP): until they set one up, their token reaches only the MFA
   * setup routes. Unset: true when NODE_ENV=production, false otherwise (resolved by validateEnv).
   */
  @IsOptional()
  @Transform(toBool)
  @IsBoolean()
  ADMIN_MFA_REQUIRED?: boolean;

  /** Encrypts TOTP secrets at rest and keys the recovery codes' hashes, at least 32 characters. Required in production. */
  @IsOptional()
  @IsString()
  @MinLength(32, { message: 'MFA_ENCRYPTION_KEY must be at least 32 characters' })
  MFA_ENCRYPTION_KEY?: string;

  /** Comma-separated origins allowed by CORS; empty means no cross-origin access. */
  @Transform(toList)
  @IsString({ each: true })
  CORS_ORIGINS: string[] = [];

  /** Comma-separated Host header values the server answers (as Django's ALLOWED_HOSTS); `*` allows any. */
  @Transform(toList)
  @IsString({ each: true })
  @MaxLength(253, { each: true })
  ALLOWED_HOSTS: string[] = ['localhost', '127.0.0.1', '[::1]'];

  /**
   * Which proxies to believe about the client's address (X-Forwarded-For)
   * and protocol: empty trusts none; a number trusts that many hops; else
   * comma-separated addresses or CIDR ranges of the proxies.
   */
  @Transform(toList)
  @IsString({ each: true })
  @Matches(/^(\d{1,2}|[0-9a-fA-F.:]+(\/\d{1,3})?)$/, {
    each: true,
    message: 'TRUST_PROXY must be a hop count or comma-separated proxy addresses/CIDR ranges',
  })
  TRUST_PROXY: string[] = [];

  /** Every PUT, PATCH and DELETE of a patient or a doctor must carry If-Match (else 428): no change made without knowing the version it replaces. */
  @Transform(toBool)
  @IsBoolean()
  REQUIRE_IF_MATCH = false;

  /** Days a deleted patient or doctor can be restored; after them it is purged for good (by a background job, or `npm run cli -- purge-deleted`). */
  @Transform(toInt)
  @Min(1)
  @Max(3650)
  @IsInt()
  DELETED_RETENTION_DAYS = 30;

  /** Seconds a create's answer is kept for retries with the same Idempotency-Key (24 hours). */
  @Transform(toInt)
  @Min(60)
  @Max(604800)
  @IsInt()
  IDEMPOTENCY_TTL = 86400;

  /** Rate limits on (false only behind a gateway that enforces its own). */
  @Transform(toBool)
  @IsBoolean()
  THROTTLE_ENABLED = true;

  /** Requests a minute per client IP on register, login and refresh together. */
  @Transform(toInt)
  @Min(1)
  @IsInt()
  AUTH_RATE_LIMIT = 30;

  /** Requests a minute per authenticated user on the rest of the API. */
  @Transform(toInt)
  @Min(1)
  @IsInt()
  USER_RATE_LIMIT = 600;

  /**
   * Requests a minute per client IP to routes that need a token, made without a valid one
   * (none, malformed, expired): counted before any token work, so a flood is answered 429 cheaply.
   */
  @Transform(toInt)
  @Min(1)
  @IsInt()
  ANON_RATE_LIMIT = 60;

  /** Failed logins per username within LOGIN_FAILURE_WINDOW before it is locked until the window ends. */
  @Transform(toInt)
  @Min(1)
  @IsInt()
  LOGIN_FAILURE_LIMIT = 10;

  /** Seconds. */
  @Transform(toInt)
  @Min(1)
  @Max(86400)
  @IsInt()
  LOGIN_FAILURE_WINDOW = 900;

  /** Failed logins per username within an hour, however they are spread. */
  @Transform(toInt)
  @Min(1)
  @IsInt()
  LOGIN_FAILURE_HOURLY_LIMIT = 100;

  /** redis://host:6379/0: rate-limit counters shared by every instance. Empty: kept in this process's memory. */
  @IsOptional()
  @IsString()
  REDIS_URL?: string;

  /**
   * Password hashes (argon2id, 19 MiB each) computed at once; more logins wait their turn. Default: one
   * fewer than the CPU cores (at least 1), so a login storm leaves a core to everything else.
   */
  @IsOptional()
  @Transform(toInt)
  @Min(1)
  @Max(64)
  @IsInt()
  PASSWORD_HASH_CONCURRENCY?: number;

  /** Hashes one account (or one unknown name) may have in flight, run one at a time; more get 429. */
  @Transform(toInt)
  @Min(1)
  @Max(1024)
  @IsInt()
  PASSWORD_HASH_PER_ACCOUNT = 4;

  /** Searches (patients, doctors) one user may run at once; more get 429. */
  @Transform(toInt)
  @Min(1)
  @Max(1024)
  @IsInt()
  SEARCH_CONCURRENCY_PER_USER = 2;

  /**
   * Searches running at once across all users; more wait their turn (SEARCH_QUEUE_WAIT_MS). Unset: half of DB_POOL_SIZE, at least 1
   * (resolved in app-config.ts), so plain reads always keep pool connections. Must stay below DB_POOL_SIZE.
   */
  @IsOptional()
  @Transform(toInt)
  @Min(1)
  @Max(1024)
  @IsInt()
  SEARCH_CONCURRENCY_TOTAL?: number;

  /** How long a search may wait for one of those slots (first come, first served) before it gets 429. */
  @Transform(toInt)
  @Min(0)
  @Max(30000)
  @IsInt()
  SEARCH_QUEUE_WAIT_MS = 2000;

  /** On SIGTERM/SIGINT: seconds of serving with readiness at 503 before the listener closes. */
  @Transform(toInt)
  @Min(0)
  @Max(60)
  @IsInt()
  SHUTDOWN_DRAIN_SECONDS = 2;

  /**
   * On SIGTERM/SIGINT, after the drain: seconds the close may take (requests in flight, the last audit writes,
   * the pool). Past this, one log line says what it was still waiting for, and the process exits with status 1.
   */
  @Transform(toInt)
  @Min(1)
  @Max(600)
  @IsInt()
  SHUTDOWN_TIMEOUT_SECONDS = 20;

  /**
   * Server processes on this machine (node:cluster), each a whole instance sharing the port; the first process
   * only starts, restarts and stops them. More than 1 needs PostgreSQL (DATABASE_URL), and in production Redis
   * (REDIS_URL), so the workers share their rate limits.
   */
  @Transform(toInt)
  @Min(1)
  @Max(64)
  @IsInt()
  CLUSTER_WORKERS = 1;

  /** Audit events older than this many days are removed by `npm run cli -- audit-prune` (six years, as HIPAA keeps documentation). */
  @Transform(toInt)
  @Min(1)
  @IsInt()
  AUDIT_RETENTION_DAYS = 2190;

  /**
   * The audit chain's HMAC key, at least 32 characters; the database never sees it. Required in production
   * (every instance and the CLI share it); in development one is generated and kept beside the data dir.
   */
  @IsOptional()
  @IsString()
  @MinLength(32, { message: 'AUDIT_CHAIN_KEY must be at least 32 characters' })
  AUDIT_CHAIN_KEY?: string;

  /** Seconds between the signed audit checkpoints the app logs (keep them outside the database); 0: none. */
  @Transform(toInt)
  @Min(0)
  @Max(86400)
  @IsInt()
  AUDIT_CHECKPOINT_INTERVAL = 3600;

  /** The built staff console (`npm run build` writes it), served at /admin; relative paths start at the working directory. */
  @IsString()
  ADMIN_CONSOLE_DIR = 'dist/admin';

  /** Used only by `npm run cli -- create-superuser`; the prompt asks when it is unset. */
  @IsOptional()
  @IsString()
  SUPERUSER_PASSWORD?: string;
}

// Note: class-validator runs a property's decorators bottom-up, so the type
// check sits last: "PORT must be an integer" comes before any range message.

/** The variables without a default (so not keys of a fresh EnvironmentVariables). */
const OPTIONAL_VARIABLES = [
  'DATABASE_URL',
  'DB_NAME',
  'DB_USER',
  'DB_PASSWORD',
  'JWT_SECRET',
  'SUPERUSER_PASSWORD',
  'REDIS_URL',
  'PASSWORD_HASH_CONCURRENCY',
  'ADMIN_MFA_REQUIRED',
  'MFA_ENCRYPTION_KEY',
  'DATABASE_MIGRATION_URL',
  'DB_OWNER_PASSWORD',
  'DB_APP_PASSWORD',
  'AUDIT_CHAIN_KEY',
  'SEARCH_CONCURRENCY_TOTAL',
];

/**
 * Turns process.env into a typed, validated object, or throws one readable
 * message naming every bad variable.
 */
export function validateEnv(raw: Record<string, unknown>): EnvironmentVariables {
  const declared = Object.keys(new EnvironmentVariables());
  const picked: Record<string, unknown> = {};
  for (const key of [...declared, ...OPTIONAL_VARIABLES]) {
    const value = raw[key];
    // An empty variable counts as unset, as in a copied .env.example.
    if (value !== undefined && value !== '') picked[key] = value;
  }
  const env = plainToInstance(EnvironmentVariables, picked);
  const errors = validateSync(env, { whitelist: true, forbidUnknownValues: true, stopAtFirstError: true });
  const problems = errors.flatMap((e) => Object.values(e.constraints ?? {}));
  if (env.NODE_ENV === 'production' && !env.JWT_SECRET) {
    problems.push('JWT_SECRET is required when NODE_ENV=production');
  }
  if (env.NODE_ENV === 'production' && !env.MFA_ENCRYPTION_KEY) {
    problems.push('MFA_ENCRYPTION_KEY is required when NODE_ENV=production');
  }
  if (env.NODE_ENV === 'production' && !env.AUDIT_CHAIN_KEY) {
    problems.push('AUDIT_CHAIN_KEY is required when NODE_ENV=production');
  }
  if (env.CLUSTER_WORKERS > 1 && !env.DATABASE_URL && !env.DB_NAME) {
    problems.push('CLUSTER_WORKERS above 1 needs PostgreSQL (DATABASE_URL or DB_NAME): the embedded PGlite database belongs to one process');
  }
  if (env.CLUSTER_WORKERS > 1 && env.NODE_ENV === 'production' && !env.REDIS_URL) {
    problems.push('CLUSTER_WORKERS above 1 needs REDIS_URL when NODE_ENV=production, so that the workers share their rate limits and session ends');
  }
  if (env.DATABASE_REPLICA_URLS.length > 0 && !env.DATABASE_URL && !env.DB_NAME) {
    problems.push('DATABASE_REPLICA_URLS needs a PostgreSQL primary (DATABASE_URL or DB_NAME): the embedded PGlite database has no replicas');
  }
  // Searches at the pool's size would leave plain reads no connection (issue 11, item 9).
  if (env.SEARCH_CONCURRENCY_TOTAL !== undefined && env.DB_POOL_SIZE > 1 && env.SEARCH_CONCURRENCY_TOTAL >= env.DB_POOL_SIZE) {
    problems.push('SEARCH_CONCURRENCY_TOTAL must be less than DB_POOL_SIZE');
  }
  if (problems.length > 0) {
    throw new Error(`Invalid configuration: ${problems.join('; ')}`);
  }
  env.ADMIN_MFA_REQUIRED ??= env.NODE_ENV === 'production';
  return env;
}

/** Names of every variable the app reads, for docs and the .env.example check. */
export const ENV_VARIABLE_NAMES = [...Object.keys(new EnvironmentVariables()), ...OPTIONAL_VARIABLES].filter(
  (v, i, all) => all.indexOf(v) === i,
);
