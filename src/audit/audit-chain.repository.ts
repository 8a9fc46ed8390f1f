// Past 250 lines: every statement on the chain's tables (seal, verify, prune) in one place, so the invariants they share (placement, marks, the head) are read together; it holds SQL only.
import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { ChainEvent, ChainRow, JoinedIds, LinkKind } from './audit-chain.js';

/** Every statement of the sealer carries this tag, so logs, pg_stat_statements and tests can tell its ticks apart. */
const SEALER = '/* audit_seal() */';

export interface ChainHead {
  position: string;
  hash: Buffer;
  keyedFrom: string;
  countedFrom: string;
}

export interface NewLink {
  position: string;
  eventSeq: string;
  prevHash: Buffer;
  hash: Buffer;
  kind: LinkKind;
}

export interface LinkRow extends ChainRow {
  kind: LinkKind;
  event_seq: string;
}

/** Numbers from..to (inclusive) taken from the sequence that nothing accounts for. */
export interface NumberGap {
  from: string;
  to: string;
}

// The id lists arrive joined (see JoinedIds): the driver's generic array parser cost the sealer more CPU than
// the links' HMACs (bench scenario 2's profile), and splitting the text form only to join it again cost the rest.
export const EVENT_COLUMNS = `e.seq, e.at, e.actor_id, e.session_id, e.action, e.resource_type, e.resource_id, e.patient_id,
  array_to_string(e.patient_ids, ',', '') AS patient_ids, array_to_string(e.result_ids, ',', '') AS result_ids, e.status,
  e.reason, e.request_id, e.client_ip, e.user_agent, e.count, e.route`;

/**
 * The head and the oldest queued events (up to $1). Each queued number
 * fetches its event by primary key (the OFFSET 0 keeps the planner from
 * turning that into a join): planned as a join, it expected $1 rows and
 * hashed a sequential scan of all of audit_events on every tick (64 ms a
 * tick after a few minutes of the bench, and growing with the table).
 */
export const SEAL_BATCH_SQL = `${SEALER} SELECT h.seq AS head_position, h.hash AS head_hash, h.keyed_from, h.counted_from, ${EVENT_COLUMNS}
   FROM audit_chain_head h
   LEFT JOIN LATERAL (
     SELECT e.* FROM (SELECT seq FROM audit_pending ORDER BY seq LIMIT $1) p
     CROSS JOIN LATERAL (SELECT * FROM audit_events x WHERE x.seq = p.seq OFFSET 0) e
   ) e ON true
  WHERE h.id = 1 ORDER BY e.seq`;

/** A joined id list as read (null stays null: an event without the list). */
export const joinedIds = (text: string | null | undefined): JoinedIds | null => (text === null || text === undefined ? null : { joined: text });

type TextLists<R> = Omit<R, 'patient_ids' | 'result_ids'> & { patient_ids?: string | null; result_ids: string | null };

function withLists<R extends ChainEvent>(row: TextLists<R>): R {
  const out = row as unknown as R;
  out.patient_ids = joinedIds(row.patient_ids);
  out.result_ids = joinedIds(row.result_ids);
  return out;
}

const head = (row: { seq: string; hash: Uint8Array; keyed_from: string; counted_from: string }): ChainHead => ({
  position: String(row.seq),
  hash: buffer(row.hash),
  keyedFrom: String(row.keyed_from),
  countedFrom: String(row.counted_from),
});

// pg returns bytea as a Buffer, PGlite as a Uint8Array.
const buffer = (value: Uint8Array) => Buffer.from(value);

/**
 * audit_chain, audit_pending and audit_chain_head: the only place with their
 * SQL. The database checks each link's place (its trigger) but cannot make
 * one: links are computed by AuditChainService with the key.
 */
@Injectable()
export class AuditChainRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** The head and the oldest queued events (up to `limit`), in one statement (SEAL_BATCH_SQL). */
  async findSealBatch(limit: number): Promise<{ head: ChainHead; events: ChainEvent[] }> {
    const rows = (await this.dataSource.query(
      SEAL_BATCH_SQL,
      [limit],
    )) as Array<TextLists<ChainEvent> & { head_position: string; head_hash: Uint8Array; keyed_from: string; counted_from: string }>;
    const [first] = rows;
    return {
      head: head({ seq: first.head_position, hash: first.head_hash, keyed_from: first.keyed_from, counted_from: first.counted_from }),
      events: rows.filter((r) => r.seq !== null).map((r) => withLists<ChainEvent>(r)),
    };
  }

  /** Of these event numbers, those neither queued nor sealed (nor ever an event: a missing link has none). */
  async findUnaccounted(seqs: string[]): Promise<string[]> {
    const rows = (await this.dataSource.query(
      `${SEALER} SELECT s::text AS seq FROM unnest($1::bigint[]) s
        WHERE NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.event_seq = s)
          AND NOT EXISTS (SELECT 1 FROM audit_pending p WHERE p.seq = s)
          AND NOT EXISTS (SELECT 1 FROM audit_events e WHERE e.seq = s)
        ORDER BY s`,
      [seqs],
    )) as Array<{ seq: string }>;
    return rows.map((r) => r.seq);
  }

  /**
   * Appends links in one statement: the audit_chain trigger refuses any that does not extend the chain, and
   * moves the head once, onto the last (migrations/1796290600000-AuditHeadPerStatement).
   */
  async insertLinks(links: NewLink[], m: EntityManager = this.dataSource.manager): Promise<void> {
    await m.query(
      `${SEALER} INSERT INTO audit_chain (position, event_seq, prev_hash, hash, kind)
       SELECT p, s, decode(ph, 'hex'), decode(h, 'hex'), k
         FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS u(p, s, ph, h, k, o)
        ORDER BY o`,
      [
        links.map((l) => l.position),
        links.map((l) => l.eventSeq),
        links.map((l) => l.prevHash.toString('hex')),
        links.map((l) => l.hash.toString('hex')),
        links.map((l) => l.kind),
      ],
    );
  }

  /** Queued events that exist (a queue row whose event was deleted can never be sealed: audit-verify reports it). */
  async countSealable(): Promise<number> {
    const [{ n }] = (await this.dataSource.query(
      `${SEALER} SELECT count(*)::int AS n FROM audit_pending p WHERE EXISTS (SELECT 1 FROM audit_events e WHERE e.seq = p.seq)`,
    )) as Array<{ n: number }>;
    return n;
  }

  async findHead(m: EntityManager = this.dataSource.manager): Promise<ChainHead | null> {
    const [row] = (await m.query(`SELECT seq, hash, keyed_from, counted_from FROM audit_chain_head WHERE id = 1`)) as Array<{
      seq: string;
      hash: Uint8Array;
      keyed_from: string;
      counted_from: string;
    }>;
    return row ? head(row) : null;
  }

  /**
   * The first run of numbers, from `from` up to the last one the sequence
   * gave out, that is neither an event (sealed or queued) nor a link saying
   * why there is none. Numbers of transactions still running look the same:
   * the caller checks again once they are over (see findRunningTransactions).
   */
  async findFirstNumberGap(m: EntityManager, from: string): Promise<NumberGap | null> {
    const [row] = (await m.query(
      `WITH taken AS (
         SELECT last_value AS last FROM audit_events_seq_seq WHERE is_called
       ), accounted AS (
         SELECT seq AS n FROM audit_events WHERE seq >= $1
         UNION SELECT event_seq FROM audit_chain WHERE event_seq >= $1
         UNION SELECT seq FROM audit_pending WHERE seq >= $1
         UNION SELECT $1::bigint - 1
         UNION SELECT last + 1 FROM taken
       ), runs AS (
         SELECT n, lead(n) OVER (ORDER BY n) AS next FROM accounted
       )
       SELECT (n + 1)::text AS "from", (next - 1)::text AS "to" FROM runs
        WHERE next > n + 1 AND n + 1 <= (SELECT last FROM taken) ORDER BY n LIMIT 1`,
      [from],
    )) as Array<NumberGap>;
    return row ?? null;
  }

  /**
   * For numbers from..to: where the counted range starts, the last number the
   * sequence gave out, and those of the range that something accounts for
   * (an event, a link, a queue row).
   */
  async findNumbersIn(from: string, to: string): Promise<{ countedFrom: string; last: string | null; accounted: string[] }> {
    const [row] = (await this.dataSource.query(
      `SELECT (SELECT counted_from::text FROM audit_chain_head WHERE id = 1) AS counted_from,
              (SELECT last_value::text FROM audit_events_seq_seq WHERE is_called) AS last,
              ARRAY(SELECT n::text FROM (
                SELECT seq AS n FROM audit_events WHERE seq BETWEEN $1 AND $2
                UNION SELECT event_seq FROM audit_chain WHERE event_seq BETWEEN $1 AND $2
                UNION SELECT seq FROM audit_pending WHERE seq BETWEEN $1 AND $2
              ) a ORDER BY a.n) AS accounted`,
      [from, to],
    )) as Array<{ counted_from: string; last: string | null; accounted: string[] }>;
    return { countedFrom: row.counted_from, last: row.last, accounted: row.accounted };
  }

  /** The reasons of the events that acknowledged gaps (who, when and why), oldest first. */
  async listGapAcknowledgements(m: EntityManager): Promise<Array<{ seq: string; at: Date; reason: string }>> {
    return (await m.query(
      `SELECT seq::text AS seq, at, reason FROM audit_events
        WHERE action = 'update' AND resource_type = 'audit_event' AND reason LIKE 'acknowledged-gap:%' ORDER BY seq`,
    )) as Array<{ seq: string; at: Date; reason: string }>;
  }

  /** The current snapshot's horizon (pg_current_snapshot()'s xmax): every transaction below it had started by then. */
  async findSnapshotHorizon(m: EntityManager = this.dataSource.manager): Promise<string> {
    const [row] = (await m.query(`SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS xmax`)) as Array<{ xmax: string }>;
    return row.xmax;
  }

  /** Whether a transaction that started before `horizon` is still running. */
  async hasTransactionsBefore(horizon: string): Promise<boolean> {
    const [row] = (await this.dataSource.query(
      `SELECT pg_snapshot_xmin(pg_current_snapshot()) < $1::text::xid8 AS running`,
      [horizon],
    )) as Array<{ running: boolean }>;
    return row.running;
  }

  async countPending(m: EntityManager): Promise<number> {
    const [{ n }] = (await m.query(`SELECT count(*)::int AS n FROM audit_pending`)) as Array<{ n: number }>;
    return n;
  }

  /** Links after `after`, oldest first, with their events (null fields when the event is gone). */
  async listLinks(m: EntityManager, after: string, limit: number): Promise<LinkRow[]> {
    const rows = (await m.query(
      `SELECT c.position AS chain_position, c.event_seq, c.prev_hash, c.hash, c.kind, ${EVENT_COLUMNS}
         FROM audit_chain c LEFT JOIN audit_events e ON e.seq = c.event_seq
        WHERE c.position > $1 ORDER BY c.position LIMIT ${Number(limit)}`,
      [after],
    )) as Array<TextLists<LinkRow>>;
    return rows.map((raw) => {
      const row = withLists<LinkRow>(raw);
      row.prev_hash = buffer(row.prev_hash);
      row.hash = buffer(row.hash);
      return row;
    });
  }

  async findFirstUnqueued(m: EntityManager): Promise<string | null> {
    const [row] = (await m.query(
      `SELECT e.seq FROM audit_events e
        WHERE NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.event_seq = e.seq)
          AND NOT EXISTS (SELECT 1 FROM audit_pending p WHERE p.seq = e.seq)
        ORDER BY e.seq LIMIT 1`,
    )) as Array<{ seq: string }>;
    return row?.seq ?? null;
  }

  async findFirstLostQueued(m: EntityManager): Promise<string | null> {
    const [row] = (await m.query(
      `SELECT p.seq FROM audit_pending p WHERE NOT EXISTS (SELECT 1 FROM audit_events e WHERE e.seq = p.seq) ORDER BY p.seq LIMIT 1`,
    )) as Array<{ seq: string }>;
    return row?.seq ?? null;
  }

  /** The newest prune event's reason naming this position as the last it removed. */
  async findPruneReason(m: EntityManager, throughPosition: bigint): Promise<string | null> {
    const [row] = (await m.query(
      `SELECT reason FROM audit_events WHERE action = 'audit_pruned' AND reason LIKE $1 ORDER BY seq DESC LIMIT 1`,
      [`pruned-through:${throughPosition}:%`],
    )) as Array<{ reason: string }>;
    return row?.reason ?? null;
  }

  /** audit_prune(): the database removes the old prefix itself (SECURITY DEFINER); in the caller's transaction. */
  async prune(m: EntityManager, retentionDays: number): Promise<{ removed: number; position: string | null; hash: Buffer | null }> {
    const [row] = (await m.query(
      `SELECT removed::int AS removed, through_position::text AS position, through_hash AS hash FROM audit_prune($1)`,
      [retentionDays],
    )) as Array<{ removed: number; position: string | null; hash: Uint8Array | null }>;
    return { removed: row.removed, position: row.position, hash: row.hash ? buffer(row.hash) : null };
  }
}
