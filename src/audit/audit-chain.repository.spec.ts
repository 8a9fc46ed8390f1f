import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { DataSource } from 'typeorm';
import { openTestDataSource } from '../../test/utils/data-source.js';
import { type ChainEvent, deriveChainKeys, keyedLinkHash } from './audit-chain.js';
import { joinedIds } from './audit-chain.repository.js';

// The sealer and audit-verify read the id lists joined by PostgreSQL (EVENT_COLUMNS) instead of as arrays:
// a link's hash covers these lists, so both readings must hash exactly the same, or chains sealed before the
// change would stop verifying.
describe('joined id lists', () => {
  let t: Awaited<ReturnType<typeof openTestDataSource>>;
  let dataSource: DataSource;
  beforeAll(async () => {
    t = await openTestDataSource();
    dataSource = t.dataSource;
  }, 60_000);
  afterAll(() => t?.close());

  const a = '0b6f3c8e-2f1d-4c5e-9a7b-1d2e3f4a5b6c';
  const b = 'F0E1D2C3-B4A5-4697-8877-665544332211';
  const keys = deriveChainKeys(Buffer.alloc(32, 7));
  const event = (ids: ChainEvent['result_ids']): ChainEvent => ({
    seq: '7',
    chain_position: null,
    at: new Date('2026-12-04T00:00:00.000Z'),
    actor_id: null,
    session_id: null,
    action: 'list',
    resource_type: 'patient',
    resource_id: null,
    patient_id: null,
    patient_ids: ids,
    result_ids: ids,
    status: 200,
    reason: null,
    request_id: null,
    client_ip: null,
    user_agent: null,
    prev_hash: null,
    hash: null,
  });

  it.each([['{}'], [`{${a}}`], [`{${a},${b}}`], [`{NULL,${a}}`], [`{${a},NULL}`], [`{${a},${b},${a}}`], [null]])(
    '%s hashes the same joined as parsed by the driver',
    async (literal) => {
      const [row] = (await dataSource.query(`SELECT $1::uuid[] AS parsed, array_to_string($1::uuid[], ',', '') AS joined`, [literal])) as Array<{
        parsed: Array<string | null> | null;
        joined: string | null;
      }>;
      const parsed = keyedLinkHash(keys, Buffer.alloc(32), '1', event(row.parsed as string[] | null));
      const joined = keyedLinkHash(keys, Buffer.alloc(32), '1', event(joinedIds(row.joined)));
      expect(joined.toString('hex')).toBe(parsed.toString('hex'));
    },
  );
});
