import type { MigrationInterface, QueryRunner } from 'typeorm';
import { KEYED_CHAIN_GUARD, KEYED_HEAD_GUARD } from './1796290400000-AuditKeyedChain.js';

/**
 * The chain head moves once per sealing statement instead of once per link.
 *
 * Until now the audit_chain trigger locked the one-row head, checked the new
 * link against it and moved it, for every link: a sealing round of 200
 * events updated that row 200 times in one transaction, each update a new
 * row version (none of them prunable until the round commits), so the head's
 * table and index grew by megabytes an hour and every later read of the head
 * walked dead versions (docs/performance.md, "Same-hour comparison").
 *
 * Now the row trigger checks each link against the newest link (earlier rows
 * of the same statement are visible to it) or, before the statement's first
 * link, against the head, which it still locks, so two sealers still cannot
 * interleave; and a statement-level trigger moves the head once, onto the
 * newest link, when the statement ends. The head guard accepts exactly that
 * move: from inside the chain's triggers, forward, onto the newest link, with
 * its boundaries unchanged. Every other rule stands: a link must extend the
 * chain with the right previous hash, an event link needs its event queued,
 * a mark needs a number without an event inside the counted range, and the
 * head never moves back.
 */
export class AuditHeadPerStatement1796290600000 implements MigrationInterface {
  name = 'AuditHeadPerStatement1796290600000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE OR REPLACE FUNCTION audit_chain_guard() RETURNS trigger LANGUAGE plpgsql
        SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
      DECLARE
        head audit_chain_head;
        last_position bigint;
        last_hash bytea;
      BEGIN
        IF TG_OP = 'INSERT' THEN
          -- Locked until commit (taking it again for the statement's next rows costs nothing).
          SELECT * INTO head FROM audit_chain_head WHERE id = 1 FOR UPDATE;
          -- The link this one extends: one placed earlier in this statement (past the head), else the head.
          SELECT c.position, c.hash INTO last_position, last_hash FROM audit_chain c
           WHERE c.position > head.seq ORDER BY c.position DESC LIMIT 1;
          IF NOT FOUND THEN
            last_position := head.seq;
            last_hash := head.hash;
          END IF;
          IF NEW.position IS DISTINCT FROM last_position + 1 OR NEW.prev_hash IS DISTINCT FROM last_hash
             OR octet_length(NEW.hash) IS DISTINCT FROM 32 THEN
            RAISE EXCEPTION 'audit_chain: a link must extend the head (position %)', last_position + 1
              USING ERRCODE = 'insufficient_privilege';
          END IF;
          IF NEW.kind = 'event' THEN
            IF NOT EXISTS (SELECT 1 FROM audit_pending WHERE seq = NEW.event_seq)
               OR NOT EXISTS (SELECT 1 FROM audit_events WHERE seq = NEW.event_seq) THEN
              RAISE EXCEPTION 'audit_chain: event % is not queued', NEW.event_seq USING ERRCODE = 'insufficient_privilege';
            END IF;
          ELSIF EXISTS (SELECT 1 FROM audit_events WHERE seq = NEW.event_seq)
                OR NEW.event_seq < head.counted_from
                OR NEW.event_seq > (SELECT last_value FROM audit_events_seq_seq) THEN
            RAISE EXCEPTION 'audit_chain: number % cannot be marked %', NEW.event_seq, NEW.kind
              USING ERRCODE = 'insufficient_privilege';
          END IF;
          DELETE FROM audit_pending WHERE seq = NEW.event_seq;
          RETURN NEW;
        END IF;
        -- The retention prune, inside audit_prune(): links up to the position it names, their events gone.
        IF TG_OP = 'DELETE'
           AND coalesce(current_setting('hc.audit_prune_through', true), '') <> ''
           AND OLD.position <= current_setting('hc.audit_prune_through', true)::bigint
           AND NOT EXISTS (SELECT 1 FROM audit_events WHERE seq = OLD.event_seq) THEN
          RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit_chain is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
      END $$`);

    // Once per INSERT statement on the chain, after its rows: the head onto the newest link.
    await q.query(`
      CREATE FUNCTION audit_chain_advance() RETURNS trigger LANGUAGE plpgsql
        SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
      BEGIN
        UPDATE audit_chain_head h SET seq = c.position, hash = c.hash
          FROM (SELECT position, hash FROM audit_chain ORDER BY position DESC LIMIT 1) c
         WHERE h.id = 1 AND c.position > h.seq;
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE TRIGGER audit_chain_advance AFTER INSERT ON audit_chain
        FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_advance()`);

    await q.query(`
      CREATE OR REPLACE FUNCTION audit_chain_head_guard() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'UPDATE' AND pg_trigger_depth() > 1 AND NEW.id = OLD.id AND NEW.seq > OLD.seq
           AND NEW.keyed_from = OLD.keyed_from AND NEW.counted_from = OLD.counted_from
           AND (SELECT position = NEW.seq AND hash = NEW.hash FROM audit_chain ORDER BY position DESC LIMIT 1) THEN
          RETURN NEW;
        END IF;
        -- audit_prune() moves counted_from forward past the numbers it removed, and nothing else.
        IF TG_OP = 'UPDATE' AND coalesce(current_setting('hc.audit_prune_through', true), '') <> ''
           AND pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'MEMBER')
           AND NEW.id = OLD.id AND NEW.seq = OLD.seq AND NEW.hash = OLD.hash AND NEW.keyed_from = OLD.keyed_from
           AND NEW.counted_from >= OLD.counted_from THEN
          RETURN NEW;
        END IF;
        RAISE EXCEPTION 'audit_chain_head moves only onto the newest link' USING ERRCODE = 'insufficient_privilege';
      END $$`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER audit_chain_advance ON audit_chain`);
    await q.query(`DROP FUNCTION audit_chain_advance()`);
    await q.query(KEYED_HEAD_GUARD);
    await q.query(KEYED_CHAIN_GUARD);
  }
}
