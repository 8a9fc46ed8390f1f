import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The chain trigger as this migration defines it (1796290600000-AuditHeadPerStatement's down() restores it). */
export const KEYED_CHAIN_GUARD = `
      CREATE OR REPLACE FUNCTION audit_chain_guard() RETURNS trigger LANGUAGE plpgsql
        SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
      DECLARE
        head audit_chain_head;
      BEGIN
        IF TG_OP = 'INSERT' THEN
          SELECT * INTO head FROM audit_chain_head WHERE id = 1 FOR UPDATE;
          IF NEW.position IS DISTINCT FROM head.seq + 1 OR NEW.prev_hash IS DISTINCT FROM head.hash
             OR octet_length(NEW.hash) IS DISTINCT FROM 32 THEN
            RAISE EXCEPTION 'audit_chain: a link must extend the head (position %)', head.seq + 1
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
          UPDATE audit_chain_head SET seq = NEW.position, hash = NEW.hash WHERE id = 1;
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
      END $$`;

/** The head's guard as this migration defines it: one link at a time, from inside the chain trigger. */
export const KEYED_HEAD_GUARD = `
      CREATE OR REPLACE FUNCTION audit_chain_head_guard() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'UPDATE' AND pg_trigger_depth() > 1 AND NEW.id = OLD.id AND NEW.seq = OLD.seq + 1
           AND NEW.keyed_from = OLD.keyed_from AND NEW.counted_from = OLD.counted_from THEN
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
      END $$`;

/**
 * A keyed audit chain, sealed by the app, with every event number accounted
 * for (issue 11, item 3), and the patients each event disclosed (item 7).
 *
 * - Links are HMAC-SHA256 with AUDIT_CHAIN_KEY, a key the database never
 *   sees: the app reads the queued events, computes each link and inserts it
 *   (src/audit/audit-chain.ts). The database keeps only results and can no
 *   longer compute a link (audit_link_hash and audit_seal are dropped), so
 *   nobody holding only the database can rebuild a valid chain.
 * - The database still refuses a misplaced link: the audit_chain trigger
 *   accepts only the head's next position, chained to the head's hash, for a
 *   queued event; or, with `kind` 'missing' or 'rolled_back', for a number
 *   that has no event (one the app saw committed and found deleted before
 *   sealing, or one a rolled-back write took). It moves the head. The
 *   trigger functions are SECURITY DEFINER (owned by the migrating role, with
 *   a fixed search_path), so the app's role needs no privilege on the queue,
 *   the head or the sequence.
 * - Links sealed before this migration keep their unkeyed sha256: the
 *   position they end at is recorded once in the head (`keyed_from`, never
 *   changed). Event numbers are accounted for from `counted_from` (the next
 *   number now; a retention prune moves it past what it removed).
 * - The retention prune is a SECURITY DEFINER function that deletes by
 *   itself; the append-only triggers let a DELETE through only from the
 *   table's owner inside it, so the session flags it sets open nothing for
 *   the app's role (which has no DELETE privilege either: db-roles).
 * - `patient_ids`: every patient an event disclosed (a read, a create, each
 *   patient of a list), GIN-indexed for "who saw patient X". Existing rows
 *   get their `patient_id`.
 */
export class AuditKeyedChain1796290400000 implements MigrationInterface {
  name = 'AuditKeyedChain1796290400000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE audit_events ADD COLUMN patient_ids uuid[]`);
    await q.query(`ALTER TABLE audit_events DISABLE TRIGGER audit_events_immutable`);
    await q.query(`UPDATE audit_events SET patient_ids = ARRAY[patient_id] WHERE patient_id IS NOT NULL`);
    await q.query(`ALTER TABLE audit_events ENABLE TRIGGER audit_events_immutable`);
    await q.query(`CREATE INDEX audit_events_patient_ids_idx ON audit_events USING gin (patient_ids)`);

    // Seal what is queued the old way first: those links stay unkeyed, below the boundary.
    await q.query(`SELECT audit_seal(2147483647)`);
    await q.query(`
      ALTER TABLE audit_chain ADD COLUMN kind varchar(16) NOT NULL DEFAULT 'event'
        CONSTRAINT audit_chain_kind_check CHECK (kind IN ('event', 'missing', 'rolled_back'))`);
    await q.query(`ALTER TABLE audit_chain_head DISABLE TRIGGER audit_chain_head_guard`);
    await q.query(`ALTER TABLE audit_chain_head ADD COLUMN keyed_from bigint, ADD COLUMN counted_from bigint`);
    await q.query(`
      UPDATE audit_chain_head SET keyed_from = seq + 1,
        counted_from = (SELECT last_value + CASE WHEN is_called THEN 1 ELSE 0 END FROM audit_events_seq_seq)`);
    await q.query(`ALTER TABLE audit_chain_head ALTER COLUMN keyed_from SET NOT NULL, ALTER COLUMN counted_from SET NOT NULL`);
    await q.query(`ALTER TABLE audit_chain_head ENABLE TRIGGER audit_chain_head_guard`);
    await q.query(`DROP FUNCTION audit_seal(integer)`);
    await q.query(`DROP FUNCTION audit_link_hash(bytea, bigint, audit_events)`);

    await q.query(`
      CREATE OR REPLACE FUNCTION audit_events_stamp() RETURNS trigger LANGUAGE plpgsql
        SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
      BEGIN
        NEW.seq := nextval('audit_events_seq_seq');
        NEW.at := clock_timestamp()::timestamptz(3);
        INSERT INTO audit_pending (seq) VALUES (NEW.seq);
        RETURN NEW;
      END $$`);

    // audit_pending: only the stamp trigger adds, only the chain trigger removes.
    await q.query(`
      CREATE OR REPLACE FUNCTION audit_pending_guard() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP IN ('INSERT', 'DELETE') AND pg_trigger_depth() > 1 THEN
          RETURN CASE TG_OP WHEN 'INSERT' THEN NEW ELSE OLD END;
        END IF;
        RAISE EXCEPTION 'audit_pending is maintained by the audit triggers only' USING ERRCODE = 'insufficient_privilege';
      END $$`);

    await q.query(KEYED_CHAIN_GUARD);

    // The head moves one link at a time, from inside the chain trigger; the boundaries never move back.
    await q.query(KEYED_HEAD_GUARD);

    await q.query(`
      CREATE OR REPLACE FUNCTION audit_events_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE'
           AND coalesce(current_setting('hc.audit_prune_before', true), '') <> ''
           AND pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'MEMBER')
           AND OLD.at < least(current_setting('hc.audit_prune_before', true)::timestamptz, now() - interval '1 day') THEN
          RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
      END $$`);

    // Removes the longest prefix of the chain whose events are all older than the retention (at least a day).
    await q.query(`
      CREATE FUNCTION audit_prune(retention_days integer)
        RETURNS TABLE (removed bigint, through_position bigint, through_hash bytea) LANGUAGE plpgsql
        SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
      DECLARE
        before timestamptz := now() - make_interval(days => greatest(retention_days, 1));
        kept bigint;
        last_position bigint;
        last_hash bytea;
        last_number bigint;
        n bigint;
      BEGIN
        SELECT c.position INTO kept FROM audit_chain c LEFT JOIN audit_events e ON e.seq = c.event_seq
          WHERE c.kind = 'event' AND (e.at IS NULL OR e.at >= before) ORDER BY c.position LIMIT 1;
        SELECT c.position, c.hash INTO last_position, last_hash FROM audit_chain c
          WHERE kept IS NULL OR c.position < kept ORDER BY c.position DESC LIMIT 1;
        IF last_position IS NULL THEN
          RETURN QUERY SELECT 0::bigint, NULL::bigint, NULL::bytea;
          RETURN;
        END IF;
        SELECT max(event_seq) INTO last_number FROM audit_chain WHERE position <= last_position;
        PERFORM set_config('hc.audit_prune_before', before::text, true),
                set_config('hc.audit_prune_through', last_position::text, true);
        DELETE FROM audit_events WHERE seq IN (SELECT event_seq FROM audit_chain WHERE position <= last_position);
        GET DIAGNOSTICS n = ROW_COUNT;
        DELETE FROM audit_chain WHERE position <= last_position;
        UPDATE audit_chain_head SET counted_from = greatest(counted_from, last_number + 1) WHERE id = 1;
        PERFORM set_config('hc.audit_prune_before', '', true), set_config('hc.audit_prune_through', '', true);
        RETURN QUERY SELECT n, last_position, last_hash;
      END $$`);
    await q.query(`REVOKE ALL ON FUNCTION audit_prune(integer) FROM PUBLIC`);
  }

  public async down(q: QueryRunner): Promise<void> {
    const [{ marks }] = (await q.query(`SELECT count(*)::int AS marks FROM audit_chain WHERE kind <> 'event'`)) as Array<{ marks: number }>;
    if (marks > 0) {
      // The old layout links events only: a number marked missing or rolled back has no place there.
      throw new Error(`AuditKeyedChain cannot be reverted: ${marks} link(s) account for numbers without an event.`);
    }
    // The old layout's links are sha256 computed by the database: recompute every keyed link that way
    // (the migrating role does this deliberately; the chain stays verifiable by the old code).
    await q.query(`
      CREATE FUNCTION audit_link_hash(prev bytea, pos bigint, e audit_events) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
        SELECT sha256(prev || convert_to(
          audit_field(pos::text) ||
          audit_field(to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')) ||
          audit_field(e.actor_id::text) || audit_field(e.session_id::text) ||
          audit_field(e.action) || audit_field(e.resource_type) || audit_field(e.resource_id::text) ||
          audit_field(e.patient_id::text) || audit_field(array_to_string(e.result_ids, ',')) ||
          audit_field(e.status::text) || audit_field(e.reason) || audit_field(e.request_id) ||
          audit_field(e.client_ip) || audit_field(e.user_agent), 'UTF8'))
      $$`);
    await q.query(`ALTER TABLE audit_chain DISABLE TRIGGER audit_chain_guard`);
    await q.query(`ALTER TABLE audit_chain_head DISABLE TRIGGER audit_chain_head_guard`);
    await q.query(`
      DO $$
      DECLARE
        link record;
        prev bytea;
        boundary bigint := (SELECT keyed_from FROM audit_chain_head WHERE id = 1);
      BEGIN
        SELECT hash INTO prev FROM audit_chain WHERE position = boundary - 1;
        IF prev IS NULL THEN
          prev := CASE WHEN boundary = 1 THEN decode(repeat('00', 32), 'hex') ELSE (SELECT prev_hash FROM audit_chain WHERE position = boundary) END;
        END IF;
        FOR link IN SELECT c.position, e AS ev FROM audit_chain c LEFT JOIN audit_events e ON e.seq = c.event_seq
                     WHERE c.position >= boundary ORDER BY c.position LOOP
          UPDATE audit_chain SET prev_hash = prev, hash = audit_link_hash(prev, link.position, link.ev)
            WHERE position = link.position RETURNING hash INTO prev;
        END LOOP;
        UPDATE audit_chain_head SET hash = prev WHERE id = 1 AND seq >= boundary;
      END $$`);
    await q.query(`ALTER TABLE audit_chain_head DROP COLUMN keyed_from, DROP COLUMN counted_from`);
    await q.query(`ALTER TABLE audit_chain_head ENABLE TRIGGER audit_chain_head_guard`);
    await q.query(`ALTER TABLE audit_chain ENABLE TRIGGER audit_chain_guard`);
    await q.query(`ALTER TABLE audit_chain DROP COLUMN kind`);
    await q.query(`DROP FUNCTION audit_prune(integer)`);
    await q.query(`DROP INDEX audit_events_patient_ids_idx`);
    await q.query(`ALTER TABLE audit_events DROP COLUMN patient_ids`);

    // The functions as migrations/1764300000000-AuditSealing left them.
    await q.query(`
      CREATE OR REPLACE FUNCTION audit_events_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        NEW.seq := nextval('audit_events_seq_seq');
        NEW.at := clock_timestamp()::timestamptz(3);
        INSERT INTO audit_pending (seq) VALUES (NEW.seq);
        RETURN NEW;
      END $$`);
    await q.query(`
      CREATE FUNCTION audit_seal(max_rows integer) RETURNS integer LANGUAGE plpgsql AS $$
      DECLARE
        head_before bigint;
        pos bigint;
        link bytea;
        sealed integer := 0;
        queued bigint;
      BEGIN
        SELECT seq INTO head_before FROM audit_chain_head WHERE id = 1 FOR UPDATE SKIP LOCKED;
        IF NOT FOUND THEN
          RETURN 0;
        END IF;
        FOR queued IN SELECT seq FROM audit_pending ORDER BY seq LIMIT max_rows LOOP
          IF NOT EXISTS (SELECT 1 FROM audit_chain WHERE event_seq = queued) THEN
            CONTINUE WHEN NOT EXISTS (SELECT 1 FROM audit_events WHERE seq = queued);
            INSERT INTO audit_chain (position, event_seq, prev_hash, hash) VALUES (0, queued, '', '');
            sealed := sealed + 1;
          END IF;
          DELETE FROM audit_pending WHERE seq = queued;
        END LOOP;
        SELECT position, hash INTO pos, link FROM audit_chain ORDER BY position DESC LIMIT 1;
        IF FOUND AND pos > head_before THEN
          UPDATE audit_chain_head SET seq = pos, hash = link WHERE id = 1;
        END IF;
        RETURN sealed;
      END $$`);
    await q.query(`
      CREATE OR REPLACE FUNCTION audit_pending_guard() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'INSERT' AND pg_trigger_depth() > 1 THEN
          RETURN NEW;
        END IF;
        IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM audit_chain WHERE event_seq = OLD.seq) THEN
          RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit_pending is maintained by the audit triggers and audit_seal() only'
          USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await q.query(`
      CREATE OR REPLACE FUNCTION audit_chain_guard() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        last_position bigint;
        last_hash bytea;
        e audit_events;
      BEGIN
        IF TG_OP = 'INSERT' THEN
          SELECT position, hash INTO last_position, last_hash FROM audit_chain ORDER BY position DESC LIMIT 1;
          IF NOT FOUND THEN
            SELECT seq, hash INTO last_position, last_hash FROM audit_chain_head WHERE id = 1;
          END IF;
          SELECT * INTO e FROM audit_events WHERE seq = NEW.event_seq;
          IF NOT FOUND THEN
            RAISE EXCEPTION 'audit_chain: event % does not exist', NEW.event_seq USING ERRCODE = 'insufficient_privilege';
          END IF;
          NEW.position := last_position + 1;
          NEW.prev_hash := last_hash;
          NEW.hash := audit_link_hash(last_hash, NEW.position, e);
          RETURN NEW;
        END IF;
        IF TG_OP = 'DELETE'
           AND coalesce(current_setting('hc.audit_prune_through', true), '') <> ''
           AND OLD.position <= current_setting('hc.audit_prune_through', true)::bigint
           AND NOT EXISTS (SELECT 1 FROM audit_events WHERE seq = OLD.event_seq) THEN
          RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit_chain is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await q.query(`
      CREATE OR REPLACE FUNCTION audit_chain_head_guard() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'UPDATE' AND NEW.id = OLD.id AND NEW.seq > OLD.seq
           AND (SELECT position = NEW.seq AND hash = NEW.hash FROM audit_chain ORDER BY position DESC LIMIT 1) THEN
          RETURN NEW;
        END IF;
        RAISE EXCEPTION 'audit_chain_head moves only onto the newest link' USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await q.query(`
      CREATE OR REPLACE FUNCTION audit_events_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE'
           AND coalesce(current_setting('hc.audit_prune_before', true), '') <> ''
           AND OLD.at < least(current_setting('hc.audit_prune_before', true)::timestamptz, now() - interval '1 day') THEN
          RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
      END $$`);
  }
}
