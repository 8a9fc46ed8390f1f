import { jest } from '@jest/globals';
import type { DataSource, EntityManager } from 'typeorm';
import type { AuditService } from '../../src/audit/audit.service.js';

/**
 * A DataSource whose transaction() hands the callback a manager serving
 * `repository`, and an AuditService recording what it is asked: service
 * specs see which writes and events ran inside the transaction.
 */
export function fakeTransactions(repository: unknown) {
  const manager = { getRepository: () => repository, transactional: true } as unknown as EntityManager;
  const dataSource = {
    transaction: jest.fn(async (work: (m: EntityManager) => Promise<unknown>) => work(manager)),
  };
  const audit = {
    record: jest.fn(async (_event: unknown, _manager?: unknown) => undefined),
    recordRefusal: jest.fn((_event: unknown, _context?: unknown) => undefined),
  };
  return {
    manager,
    dataSource: dataSource as unknown as DataSource & typeof dataSource,
    audit: audit as unknown as AuditService & typeof audit,
  };
}
