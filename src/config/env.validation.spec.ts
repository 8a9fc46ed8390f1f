import { describe, expect, it } from '@jest/globals';
import { validate } from './app-config.js';
import { EnvironmentVariables, validateEnv } from './env.validation.js';

const SECRET = 'a-production-secret-that-is-long-enough-0123456789';
const MFA_KEY = 'an-mfa-encryption-key-that-is-long-enough-0123456789';
const AUDIT_KEY = 'audit-chain-key-that-is-long-enough-0123456789';

/** The message validateEnv throws for `env`. */
function failure(env: Record<string, unknown>): string {
  try {
    validateEnv(env);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
}

describe(validateEnv.name, () => {
  it('applies every default to an empty environment', () => {
    const env = validateEnv({});
    expect(env).toBeInstanceOf(EnvironmentVariables);
    expect(env).toMatchObject({
      NODE_ENV: 'development',
      PORT: 3000,
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      DB_HOST: 'localhost',
      DB_PORT: 5432,
      DB_POOL_SIZE: 10,
      PGLITE_DATA_DIR: './data/pglite',
      DB_MIGRATE_ON_START: true,
      JWT_ACCESS_TTL: 900,
      JWT_REFRESH_IDLE_TTL: 1800,
      JWT_SESSION_TTL: 43200,
      CORS_ORIGINS: [],
      ALLOWED_HOSTS: ['localhost', '127.0.0.1', '[::1]'],
    });
    expect(env.JWT_SECRET).toBeUndefined();
    expect(env.DATABASE_URL).toBeUndefined();
  });

  it('treats an empty variable as unset, as in a copied .env.example', () => {
    const env = validateEnv({ PORT: '', JWT_SECRET: '', ALLOWED_HOSTS: '', DATABASE_URL: '' });
    expect(env.PORT).toBe(3000);
    expect(env.JWT_SECRET).toBeUndefined();
    expect(env.ALLOWED_HOSTS).toEqual(['localhost', '127.0.0.1', '[::1]']);
    expect(env.DATABASE_URL).toBeUndefined();
  });

  it('converts numbers, booleans and lists from their string form', () => {
    const env = validateEnv({
      PORT: ' 8080 ',
      DB_PORT: '6543',
      DB_MIGRATE_ON_START: 'false',
      CORS_ORIGINS: 'https://a.example, https://b.example,,',
      ALLOWED_HOSTS: 'api.example.org,.clinic.example',
    });
    expect(env).toMatchObject({
      PORT: 8080,
      DB_PORT: 6543,
      DB_MIGRATE_ON_START: false,
      CORS_ORIGINS: ['https://a.example', 'https://b.example'],
      ALLOWED_HOSTS: ['api.example.org', '.clinic.example'],
    });
  });

  it.each(['1', 'true', 'YES', 'on'])('DB_MIGRATE_ON_START=%s is true', (value) => {
    expect(validateEnv({ DB_MIGRATE_ON_START: value }).DB_MIGRATE_ON_START).toBe(true);
  });

  it('ignores variables it does not read', () => {
    const env = validateEnv({ PATH: '/usr/bin', HOME: '/root', npm_config_x: 'y' }) as unknown as Record<string, unknown>;
    expect(env.PATH).toBeUndefined();
  });

  describe('production', () => {
    it('refuses to start without JWT_SECRET, with one readable line', () => {
      const message = failure({ NODE_ENV: 'production', MFA_ENCRYPTION_KEY: MFA_KEY, AUDIT_CHAIN_KEY: AUDIT_KEY });
      expect(message).toBe('Invalid configuration: JWT_SECRET is required when NODE_ENV=production');
      expect(message).not.toContain('\n');
    });

    it('an empty JWT_SECRET counts as missing', () => {
      expect(failure({ NODE_ENV: 'production', JWT_SECRET: '' })).toMatch(/JWT_SECRET is required/);
    });

    it('starts with a long enough JWT_SECRET', () => {
      expect(validateEnv({ NODE_ENV: 'production', JWT_SECRET: SECRET, MFA_ENCRYPTION_KEY: MFA_KEY, AUDIT_CHAIN_KEY: AUDIT_KEY })).toMatchObject({
        NODE_ENV: 'production',
        JWT_SECRET: SECRET,
      });
    });

    it('refuses to start without MFA_ENCRYPTION_KEY (an empty one counts as missing)', () => {
      expect(failure({ NODE_ENV: 'production', JWT_SECRET: SECRET, AUDIT_CHAIN_KEY: AUDIT_KEY })).toBe(
        'Invalid configuration: MFA_ENCRYPTION_KEY is required when NODE_ENV=production',
      );
      expect(failure({ NODE_ENV: 'production', JWT_SECRET: SECRET, MFA_ENCRYPTION_KEY: '' })).toMatch(
        /MFA_ENCRYPTION_KEY is required/,
      );
    });

    it('refuses to start without AUDIT_CHAIN_KEY (the audit chain would be unkeyed), and refuses a short one without echoing it', () => {
      expect(failure({ NODE_ENV: 'production', JWT_SECRET: SECRET, MFA_ENCRYPTION_KEY: MFA_KEY })).toBe(
        'Invalid configuration: AUDIT_CHAIN_KEY is required when NODE_ENV=production',
      );
      const short = 'k'.repeat(31);
      const message = failure({ NODE_ENV: 'production', JWT_SECRET: SECRET, MFA_ENCRYPTION_KEY: MFA_KEY, AUDIT_CHAIN_KEY: short });
      expect(message).toMatch(/AUDIT_CHAIN_KEY must be at least 32 characters/);
      expect(message).not.toContain(short);
    });
  });

  describe('ADMIN_MFA_REQUIRED', () => {
    const production = { NODE_ENV: 'production', JWT_SECRET: SECRET, MFA_ENCRYPTION_KEY: MFA_KEY, AUDIT_CHAIN_KEY: AUDIT_KEY };

    it('defaults to true in production and false in development and test', () => {
      expect(validateEnv(production).ADMIN_MFA_REQUIRED).toBe(true);
      expect(validateEnv({ NODE_ENV: 'development' }).ADMIN_MFA_REQUIRED).toBe(false);
      expect(validateEnv({ NODE_ENV: 'test' }).ADMIN_MFA_REQUIRED).toBe(false);
      expect(validateEnv({ ...production, ADMIN_MFA_REQUIRED: '' }).ADMIN_MFA_REQUIRED).toBe(true);
    });

    it('an explicit value wins in every environment', () => {
      expect(validateEnv({ ...production, ADMIN_MFA_REQUIRED: 'false' }).ADMIN_MFA_REQUIRED).toBe(false);
      expect(validateEnv({ NODE_ENV: 'development', ADMIN_MFA_REQUIRED: 'true' }).ADMIN_MFA_REQUIRED).toBe(true);
      expect(failure({ ADMIN_MFA_REQUIRED: 'sometimes' })).toContain('ADMIN_MFA_REQUIRED');
    });

    it('rejects an MFA_ENCRYPTION_KEY shorter than 32 characters without echoing it', () => {
      const short = 'x'.repeat(31);
      const message = failure({ MFA_ENCRYPTION_KEY: short });
      expect(message).toMatch(/MFA_ENCRYPTION_KEY must be at least 32 characters/);
      expect(message).not.toContain(short);
    });
  });

  it.each(['development', 'production', 'test'])('rejects a JWT_SECRET shorter than 32 characters (NODE_ENV=%s)', (nodeEnv) => {
    expect(failure({ NODE_ENV: nodeEnv, JWT_SECRET: 'x'.repeat(31) })).toMatch(/JWT_SECRET must be at least 32 characters/);
    expect(validateEnv({ NODE_ENV: nodeEnv, JWT_SECRET: 'x'.repeat(32), MFA_ENCRYPTION_KEY: MFA_KEY, AUDIT_CHAIN_KEY: AUDIT_KEY }).JWT_SECRET).toHaveLength(32);
  });

  it.each(['abc', '70000', '65536', '-1', '3000.5', '0x50', '1e3'])('rejects PORT=%s', (port) => {
    const message = failure({ PORT: port });
    expect(message).toMatch(/^Invalid configuration: .*PORT/);
    expect(message).not.toContain('\n');
  });

  it.each([
    ['NODE_ENV', 'prod'],
    ['LOG_LEVEL', 'verbose'],
    ['DB_PORT', '0'],
    ['DB_POOL_SIZE', '1000'],
    ['DB_MIGRATE_ON_START', 'maybe'],
    ['JWT_ACCESS_TTL', '5'],
    ['JWT_SESSION_TTL', 'forever'],
    ['ALLOWED_HOSTS', `${'a'.repeat(254)}.example`],
  ])('rejects %s=%s, naming it', (name, value) => {
    expect(failure({ [name]: value })).toContain(name);
  });

  it('names every bad variable in one message', () => {
    const message = failure({ NODE_ENV: 'production', PORT: 'abc', LOG_LEVEL: 'loud', JWT_ACCESS_TTL: '1' });
    for (const name of ['PORT', 'LOG_LEVEL', 'JWT_ACCESS_TTL', 'JWT_SECRET']) expect(message).toContain(name);
    expect(message.match(/Invalid configuration/g)).toHaveLength(1);
    expect(message).not.toContain('\n');
  });

  describe('CLUSTER_WORKERS', () => {
    it('is 1 unless set; more than 1 needs PostgreSQL, and Redis in production', () => {
      expect(validate({}).http.clusterWorkers).toBe(1);
      expect(failure({ CLUSTER_WORKERS: '2' })).toContain('CLUSTER_WORKERS above 1 needs PostgreSQL');
      expect(validate({ CLUSTER_WORKERS: '2', DATABASE_URL: 'postgres://u@db:5432/app' }).http.clusterWorkers).toBe(2);
      const production = { NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(40), MFA_ENCRYPTION_KEY: 'k'.repeat(44), AUDIT_CHAIN_KEY: 'a'.repeat(40) };
      expect(failure({ ...production, CLUSTER_WORKERS: '2', DATABASE_URL: 'postgres://u@db:5432/app' })).toContain('needs REDIS_URL');
      expect(failure({ CLUSTER_WORKERS: '0' })).toContain('CLUSTER_WORKERS');
      expect(failure({ CLUSTER_WORKERS: '65' })).toContain('CLUSTER_WORKERS');
    });
  });

  describe('DATABASE_REPLICA_URLS and REPLICA_MAX_LAG_MS', () => {
    it('are no replicas and 1000 ms unless set; replicas need a PostgreSQL primary and postgres:// URLs', () => {
      expect(validate({}).database).toMatchObject({ replicaUrls: [], replicaMaxLagMs: 1000 });
      const primary = { DATABASE_URL: 'postgres://u@db:5432/app' };
      const set = validate({ ...primary, DATABASE_REPLICA_URLS: 'postgres://u@r1:5432/app, postgresql://u:p@r2/app', REPLICA_MAX_LAG_MS: '0' });
      expect(set.database).toMatchObject({ replicaUrls: ['postgres://u@r1:5432/app', 'postgresql://u:p@r2/app'], replicaMaxLagMs: 0 });
      expect(failure({ DATABASE_REPLICA_URLS: 'postgres://u@r1:5432/app' })).toContain('DATABASE_REPLICA_URLS needs a PostgreSQL primary');
      expect(failure({ ...primary, DATABASE_REPLICA_URLS: 'r1:5432' })).toContain('DATABASE_REPLICA_URLS must be comma-separated postgres:// URLs');
      expect(failure({ ...primary, REPLICA_MAX_LAG_MS: '-1' })).toContain('REPLICA_MAX_LAG_MS');
    });
  });

  describe('SEARCH_CONCURRENCY_TOTAL', () => {
    it('defaults to half of DB_POOL_SIZE, at least 1', () => {
      expect(validate({}).search.concurrencyTotal).toBe(5);
      expect(validate({ DB_POOL_SIZE: '3' }).search.concurrencyTotal).toBe(1);
      expect(validate({ DB_POOL_SIZE: '1' }).search.concurrencyTotal).toBe(1);
      expect(validate({ DB_POOL_SIZE: '40', SEARCH_CONCURRENCY_TOTAL: '' }).search.concurrencyTotal).toBe(20);
    });

    it('takes an explicit value below DB_POOL_SIZE', () => {
      expect(validate({ SEARCH_CONCURRENCY_TOTAL: '9' }).search.concurrencyTotal).toBe(9);
    });

    it.each(['0', '10', '11', 'many'])('rejects %s with the default pool of 10, naming it', (value) => {
      expect(failure({ SEARCH_CONCURRENCY_TOTAL: value })).toContain('SEARCH_CONCURRENCY_TOTAL');
    });
  });

  it('does not echo a secret it rejects', () => {
    const secret = 'short-but-secret';
    expect(failure({ JWT_SECRET: secret })).not.toContain(secret);
  });
});
