import { type EnvironmentVariables, type NodeEnv, validateEnv } from './env.validation.js';

/** Where the API talks to its database (PostgreSQL when `url` or `name` is set, the embedded PGlite otherwise). */
export interface DatabaseConfig {
  /** postgres://user:pass@host:port/db; wins over the separate fields. */
  url?: string;
  name?: string;
  user?: string;
  password?: string;
  host: string;
  port: number;
  poolSize: number;
  /** The embedded PGlite's directory, or `memory://`. */
  pgliteDataDir: string;
  migrateOnStart: boolean;
  /** PostgreSQL with separate roles: migrations run through this connection (the owner role); DATABASE_URL is the app role. */
  migrationUrl?: string;
  /** Streaming replicas that may serve reads allowed to be slightly stale (lists, searches, history); see replicas.ts. */
  replicaUrls: string[];
  /** A replica further behind than this serves no such read unless the client's consistency token says it has what it needs. */
  replicaMaxLagMs: number;
  /** The roles `npm run cli -- db-roles` creates: the schema's owner (runs migrations) and the app's. */
  ownerRole: string;
  ownerPassword?: string;
  appRole: string;
  appPassword?: string;
}

export type DatabaseKind = 'postgres' | 'pglite';

/** PostgreSQL when DATABASE_URL or DB_NAME is set; the embedded PGlite otherwise. */
export function databaseKind(db: Pick<DatabaseConfig, 'url' | 'name'>): DatabaseKind {
  return db.url || db.name ? 'postgres' : 'pglite';
}

/**
 * The whole configuration, validated and typed, one namespace per area (as
 * immich's config repository and brocoders' `registerAs` namespaces). Built
 * once by an entry point with `validate(env)` and passed in:
 * `AppModule.forRoot(config)`; consumers inject it (`constructor(config: AppConfig)`).
 */
export class AppConfig {
  readonly nodeEnv: NodeEnv;
  readonly log: { level: EnvironmentVariables['LOG_LEVEL'] };
  readonly http: {
    port: number;
    host: string;
    /** Host header names the server answers (Django's ALLOWED_HOSTS). */
    allowedHosts: string[];
    corsOrigins: string[];
    trustProxy: string[];
    /** The built staff console served at /admin. */
    adminConsoleDir: string;
    /** On SIGTERM/SIGINT: seconds of serving with readiness at 503 before the listener closes. */
    shutdownDrainSeconds: number;
    /** After the drain: seconds the close may take before the process logs what it waits for and exits 1. */
    shutdownTimeoutSeconds: number;
    /** Server processes (node:cluster workers) sharing the port; 1: this process serves. */
    clusterWorkers: number;
  };
  readonly database: DatabaseConfig;
  readonly auth: {
    jwtSecret?: string;
    accessTtl: number;
    refreshIdleTtl: number;
    /** Seconds in which a refresh token just rotated may be presented again (JWT_REFRESH_GRACE). */
    refreshGrace: number;
    sessionTtl: number;
    passwordHashConcurrency?: number;
    /** Hashes one account may have in flight (the rest wait in its own line, beyond: 429). */
    passwordHashPerAccount: number;
    /** Admins must enrol a second factor before using the API. */
    adminMfaRequired: boolean;
    mfaEncryptionKey?: string;
    /** For `npm run cli -- create-superuser` only. */
    superuserPassword?: string;
  };
  readonly throttling: {
    enabled: boolean;
    authRateLimit: number;
    userRateLimit: number;
    loginFailureLimit: number;
    loginFailureWindow: number;
    loginFailureHourlyLimit: number;
    redisUrl?: string;
  };
  readonly audit: {
    retentionDays: number;
    /** The audit chain's HMAC key (never in the database); unset outside production: see audit-chain-key.ts. */
    chainKey?: string;
    /** Seconds between the signed checkpoints the app logs; 0: none. */
    checkpointIntervalSeconds: number;
  };
  /** Patients' and doctors' versions: whether a change must say which version it replaces (If-Match). */
  readonly records: { requireIfMatch: boolean; deletedRetentionDays: number; idempotencyTtlSeconds: number };
  /** Searches one user, and all users together, may run at once across every list that searches (SearchGate). */
  readonly search: { concurrencyPerUser: number; concurrencyTotal: number; queueWaitMs: number };
  /**
   * The validated variables by name, for code that still reads them through
   * Nest's ConfigService (fed from this object, never from process.env).
   */
  readonly variables: Readonly<EnvironmentVariables>;

  constructor(env: EnvironmentVariables) {
    this.nodeEnv = env.NODE_ENV;
    this.log = { level: env.LOG_LEVEL };
    this.http = {
      port: env.PORT,
      host: env.HOST,
      allowedHosts: env.ALLOWED_HOSTS,
      corsOrigins: env.CORS_ORIGINS,
      trustProxy: env.TRUST_PROXY,
      adminConsoleDir: env.ADMIN_CONSOLE_DIR,
      shutdownDrainSeconds: env.SHUTDOWN_DRAIN_SECONDS,
      shutdownTimeoutSeconds: env.SHUTDOWN_TIMEOUT_SECONDS,
      clusterWorkers: env.CLUSTER_WORKERS,
    };
    this.database = {
      url: env.DATABASE_URL,
      name: env.DB_NAME,
      user: env.DB_USER,
      password: env.DB_PASSWORD,
      host: env.DB_HOST,
      port: env.DB_PORT,
      poolSize: env.DB_POOL_SIZE,
      pgliteDataDir: env.PGLITE_DATA_DIR,
      migrateOnStart: env.DB_MIGRATE_ON_START,
      migrationUrl: env.DATABASE_MIGRATION_URL,
      replicaUrls: env.DATABASE_REPLICA_URLS,
      replicaMaxLagMs: env.REPLICA_MAX_LAG_MS,
      ownerRole: env.DB_OWNER_ROLE,
      ownerPassword: env.DB_OWNER_PASSWORD,
      appRole: env.DB_APP_ROLE,
      appPassword: env.DB_APP_PASSWORD,
    };
    this.auth = {
      jwtSecret: env.JWT_SECRET,
      accessTtl: env.JWT_ACCESS_TTL,
      refreshIdleTtl: env.JWT_REFRESH_IDLE_TTL,
      refreshGrace: env.JWT_REFRESH_GRACE,
      sessionTtl: env.JWT_SESSION_TTL,
      passwordHashConcurrency: env.PASSWORD_HASH_CONCURRENCY,
      passwordHashPerAccount: env.PASSWORD_HASH_PER_ACCOUNT,
      adminMfaRequired: env.ADMIN_MFA_REQUIRED === true,
      mfaEncryptionKey: env.MFA_ENCRYPTION_KEY,
      superuserPassword: env.SUPERUSER_PASSWORD,
    };
    this.throttling = {
      enabled: env.THROTTLE_ENABLED,
      authRateLimit: env.AUTH_RATE_LIMIT,
      userRateLimit: env.USER_RATE_LIMIT,
      loginFailureLimit: env.LOGIN_FAILURE_LIMIT,
      loginFailureWindow: env.LOGIN_FAILURE_WINDOW,
      loginFailureHourlyLimit: env.LOGIN_FAILURE_HOURLY_LIMIT,
      redisUrl: env.REDIS_URL,
    };
    this.audit = {
      retentionDays: env.AUDIT_RETENTION_DAYS,
      chainKey: env.AUDIT_CHAIN_KEY,
      checkpointIntervalSeconds: env.AUDIT_CHECKPOINT_INTERVAL,
    };
    this.records = {
      requireIfMatch: env.REQUIRE_IF_MATCH,
      deletedRetentionDays: env.DELETED_RETENTION_DAYS,
      idempotencyTtlSeconds: env.IDEMPOTENCY_TTL,
    };
    this.search = {
      concurrencyPerUser: env.SEARCH_CONCURRENCY_PER_USER,
      // Half the pool by default (defaultSearchesTotal in common/search-gate.ts, which config may not import).
      concurrencyTotal: env.SEARCH_CONCURRENCY_TOTAL ?? Math.max(1, Math.floor(env.DB_POOL_SIZE / 2)),
      queueWaitMs: env.SEARCH_QUEUE_WAIT_MS,
    };
    this.variables = Object.freeze({ ...env });
  }
}

/**
 * An environment record (process.env, a parsed .env, a test's overrides) ->
 * the typed configuration. Throws one readable line naming every bad
 * variable; an empty value means "use the default". Reads nothing but `env`.
 */
export function validate(env: Record<string, string | undefined>): AppConfig {
  return new AppConfig(validateEnv(env));
}
