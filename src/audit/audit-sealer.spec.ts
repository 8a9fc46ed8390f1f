import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import type { AppConfig } from '../config/app-config.js';
import { openDataSource } from '../database/database-startup.js';
import type { AuditChainService } from './audit-chain.service.js';
import { AuditSealer } from './audit-sealer.js';

const CHECKPOINT = 'hc-audit-cp1.7.' + 'ab'.repeat(32) + '.1.2026-12-03T13:00:00.000Z.' + 'A'.repeat(43);

/** A DataSource the startup code counts as connected and migrated (what the sealer waits for); embedded, so the sealer's lease is held. */
async function readyDataSource(): Promise<DataSource> {
  const fake = { isInitialized: true, options: { type: 'postgres', driver: {} }, initialize: async () => fake } as unknown as DataSource;
  return openDataSource(fake, { migrate: false, migrationLock: false, waitWhenDown: false, onFatal: () => undefined });
}

describe(AuditSealer.name, () => {
  let log: ReturnType<typeof jest.spyOn>;
  let chain: { seal: jest.Mock<() => Promise<number>>; checkpoint: jest.Mock<() => Promise<string>> };

  beforeEach(() => {
    jest.useFakeTimers();
    log = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    chain = { seal: jest.fn(async () => 0), checkpoint: jest.fn(async () => CHECKPOINT) };
  });
  afterEach(() => {
    jest.useRealTimers();
    log.mockRestore();
  });

  const sealer = async (checkpointIntervalSeconds: number) =>
    new AuditSealer(chain as unknown as AuditChainService, await readyDataSource(), {
      audit: { checkpointIntervalSeconds },
    } as unknown as AppConfig);

  it('logs a signed checkpoint every interval (for operators to keep outside the database), and seals meanwhile', async () => {
    const s = await sealer(3600);
    await s.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(3599_000);
    expect(log).not.toHaveBeenCalledWith(expect.anything(), 'audit checkpoint');
    expect(chain.seal).toHaveBeenCalled();
    await jest.advanceTimersByTimeAsync(1_000);
    expect(log).toHaveBeenCalledWith({ audit_checkpoint: CHECKPOINT }, 'audit checkpoint');
    await jest.advanceTimersByTimeAsync(3600_000);
    expect(chain.checkpoint).toHaveBeenCalledTimes(2);
    await s.onApplicationShutdown();
  });

  it('logs none with an interval of 0', async () => {
    const s = await sealer(0);
    await s.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(7200_000);
    expect(chain.checkpoint).not.toHaveBeenCalled();
    await s.onApplicationShutdown();
  });
});
