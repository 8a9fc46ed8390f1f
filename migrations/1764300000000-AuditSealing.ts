import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Takes the hash chain off the request path (issue 4). Until now the insert
 * trigger extended the chain through the one-row head, locked until commit,
 * so every audited request in the system committed one at a time (one fsync
 * each: about 500 a second on the CI machine, whatever the number of cores).
 *
 * Now an insert only numbers and stamps the event (a sequence, the clock) and
 * queues its number in `audit_pending`; both commit with the request (a write
 * and its event still commit or roll back together; an event that cannot be
 * written still fails the request). `audit_seal(n)`, called by the app every
 * fraction of a second, takes the pending events in `seq` order and appends
 * them to `audit_chain`: position, event, prev_hash, hash. The chain's order
 * is the order of sealing (an event committed late gets a later position), so
 * no event waits for another's transaction and none is skipped. Both tables
 * are append-only, like `audit_events`; only the retention prune removes rows.
 *
 * Link hash = sha256(prev_hash || canonical text), the canonical text being
 * the position then every field of the event in the order of the original
 * migration, each `<utf-8 byte length>:<value>` (or `~` for NULL). Existing
 * events keep their links: their position is their seq, which is exactly the
 * text they were hashed with.
 */
export class AuditSealing1764300000000 implements MigrationInterface {
  name = 'AuditSealing1764300000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE audit_chain (
        position bigint PRIMARY KEY,
        event_seq bigint NOT NULL CONSTRAINT audit_chain_event_unique UNIQUE,
        prev_hash bytea NOT NULL,
        hash bytea NOT NULL
      )`);
    await q.query(`CREATE TABLE audit_pending (seq bigint PRIMARY KEY)`);

    // The existing chain moves to audit_chain as it is (position = seq).
    await q.query(`INSERT INTO audit_chain (position, event_seq, prev_hash, hash) SELECT seq, seq, prev_hash, hash FROM audit_events`);
    await q.query(`DROP TRIGGER audit_events_chain ON audit_events`);
    await q.query(`DROP FUNCTION audit_events_chain()`);
    await q.query(`ALTER TABLE audit_events DROP COLUMN prev_hash, DROP COLUMN hash`);
    await q.query(`CREATE SEQUENCE audit_events_seq_seq AS bigint OWNED BY audit_events.seq`);
    await q.query(`SELECT setval('audit_events_seq_seq', COALESCE((SELECT max(seq) FROM audit_events), 0) + 1, false)`);

    // Numbers and stamps every insert (no value of the caller's is kept), and queues it for sealing.
    await q.query(`
      CREATE FUNCTION audit_events_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        NEW.seq := nextval('audit_events_seq_seq');
        NEW.at := clock_timestamp()::timestamptz(3);
        INSERT INTO audit_pending (seq) VALUES (NEW.seq);
        RETURN NEW;
      END $$`);
    await q.query(`
      CREATE TRIGGER audit_events_stamp BEFORE INSERT ON audit_events
        FOR EACH ROW EXECUTE FUNCTION audit_events_stamp()`);

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

    // Appends up to max_rows pending events to the chain, oldest seq first; returns how many.
    // One sealer at a time: another instance's call finds the head locked and returns 0 at once.
    // The link itself is made by the audit_chain trigger below from nothing but the event's number
    // (position, prev_hash and hash are computed there, whatever the insert says), so a link can
    // only ever be the correct next one, whoever inserts it.
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
        -- The oldest queued events, by primary key one at a time: no statement here may let the planner
        -- scan the events or the chain (millions of rows; plpgsql's cached plans cannot see how few are
        -- meant). An event already linked by hand only leaves the queue; one whose event is gone stays
        -- (audit-verify reports it).
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

    // audit_pending: only the stamp trigger adds, only the sealer removes.
    await q.query(`
      CREATE FUNCTION audit_pending_guard() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'INSERT' AND pg_trigger_depth() > 1 THEN
          RETURN NEW;
        END IF;
        -- Out of the queue only once in the chain: a queued event cannot be dropped unsealed.
        IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM audit_chain WHERE event_seq = OLD.seq) THEN
          RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit_pending is maintained by the audit triggers and audit_seal() only'
          USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await q.query(`
      CREATE TRIGGER audit_pending_guard BEFORE INSERT OR UPDATE OR DELETE ON audit_pending
        FOR EACH ROW EXECUTE FUNCTION audit_pending_guard()`);
    await q.query(`
      CREATE TRIGGER audit_pending_no_truncate BEFORE TRUNCATE ON audit_pending
        FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_truncate()`);

    // audit_chain: appended by the sealer only; never changed; a prefix removed by the retention prune only.
    await q.query(`
      CREATE FUNCTION audit_chain_guard() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        last_position bigint;
        last_hash bytea;
        e audit_events;
      BEGIN
        IF TG_OP = 'INSERT' THEN
          -- The next link after the newest (or after the head, when a prune left none), made here.
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
        -- The retention prune: links up to the position it names, whose events are already gone.
        IF TG_OP = 'DELETE'
           AND coalesce(current_setting('hc.audit_prune_through', true), '') <> ''
           AND OLD.position <= current_setting('hc.audit_prune_through', true)::bigint
           AND NOT EXISTS (SELECT 1 FROM audit_events WHERE seq = OLD.event_seq) THEN
          RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit_chain is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await q.query(`
      CREATE TRIGGER audit_chain_guard BEFORE INSERT OR UPDATE OR DELETE ON audit_chain
        FOR EACH ROW EXECUTE FUNCTION audit_chain_guard()`);
    await q.query(`
      CREATE TRIGGER audit_chain_no_truncate BEFORE TRUNCATE ON audit_chain
        FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_truncate()`);

    // The head now moves with the sealer, forward, onto the newest link.
    await q.query(`
      CREATE OR REPLACE FUNCTION audit_chain_head_guard() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'UPDATE' AND NEW.id = OLD.id AND NEW.seq > OLD.seq
           AND (SELECT position = NEW.seq AND hash = NEW.hash FROM audit_chain ORDER BY position DESC LIMIT 1) THEN
          RETURN NEW;
        END IF;
        RAISE EXCEPTION 'audit_chain_head moves only onto the newest link' USING ERRCODE = 'insufficient_privilege';
      END $$`);

    // Events: the retention prune may remove only events at least a day old, whatever date it names
    // (AUDIT_RETENTION_DAYS is at least 1): the last day of history cannot be pruned away.
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

  public async down(q: QueryRunner): Promise<void> {
    // Seal what is pending, so every event has its link back (stop the servers first: a running
    // sealer holds the head, and this refuses below rather than leave events unchained).
    await q.query(`SELECT audit_seal(2147483647)`);
    const [check] = (await q.query(`
      SELECT (SELECT count(*) FROM audit_pending)::int AS pending,
             (SELECT count(*) FROM audit_chain WHERE position <> event_seq)::int AS moved`)) as Array<{
      pending: number;
      moved: number;
    }>;
    if (check.pending > 0 || check.moved > 0) {
      // The old layout numbers events by their chain position; a rolled-back write's gap in the
      // sequence, or an event sealed out of order, cannot be expressed there without rehashing.
      throw new Error(
        `AuditSealing cannot be reverted: ${check.pending} audit event(s) are not sealed and ${check.moved} ` +
          'are sealed at a position other than their number. Reverting would break the audit chain.',
      );
    }
    await q.query(`ALTER TABLE audit_events ADD COLUMN prev_hash bytea, ADD COLUMN hash bytea`);
    await q.query(`ALTER TABLE audit_events DISABLE TRIGGER audit_events_immutable`);
    // Positions differ from seqs for events sealed out of seq order: the old layout (seq = position) cannot hold them.
    await q.query(`
      UPDATE audit_events e SET prev_hash = c.prev_hash, hash = c.hash FROM audit_chain c WHERE c.event_seq = e.seq`);
    await q.query(`ALTER TABLE audit_events ENABLE TRIGGER audit_events_immutable`);
    await q.query(`ALTER TABLE audit_events ALTER COLUMN prev_hash SET NOT NULL, ALTER COLUMN hash SET NOT NULL`);
    await q.query(`DROP TRIGGER audit_events_stamp ON audit_events`);
    await q.query(`DROP FUNCTION audit_events_stamp()`);
    await q.query(`DROP FUNCTION audit_seal(integer)`);
    await q.query(`DROP FUNCTION audit_link_hash(bytea, bigint, audit_events)`);
    await q.query(`DROP TABLE audit_chain`);
    await q.query(`DROP TABLE audit_pending`);
    await q.query(`DROP FUNCTION audit_chain_guard()`);
    await q.query(`DROP FUNCTION audit_pending_guard()`);
    await q.query(`DROP SEQUENCE audit_events_seq_seq`);
    await q.query(`
      CREATE OR REPLACE FUNCTION audit_events_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE'
           AND current_setting('hc.audit_prune_before', true) IS NOT NULL
           AND current_setting('hc.audit_prune_before', true) <> ''
           AND OLD.at < current_setting('hc.audit_prune_before', true)::timestamptz THEN
          RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await q.query(`
      CREATE OR REPLACE FUNCTION audit_chain_head_guard() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'UPDATE' AND pg_trigger_depth() > 1 THEN
          RETURN NEW;
        END IF;
        RAISE EXCEPTION 'audit_chain_head is maintained by the audit trigger only' USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await q.query(`
      CREATE FUNCTION audit_events_chain() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        last_seq bigint;
        last_hash bytea;
      BEGIN
        SELECT seq, hash INTO last_seq, last_hash FROM audit_chain_head WHERE id = 1 FOR UPDATE;
        NEW.seq := last_seq + 1;
        NEW.at := clock_timestamp()::timestamptz(3);
        NEW.prev_hash := last_hash;
        NEW.hash := sha256(NEW.prev_hash || convert_to(
          audit_field(NEW.seq::text) ||
          audit_field(to_char(NEW.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')) ||
          audit_field(NEW.actor_id::text) || audit_field(NEW.session_id::text) ||
          audit_field(NEW.action) || audit_field(NEW.resource_type) || audit_field(NEW.resource_id::text) ||
          audit_field(NEW.patient_id::text) || audit_field(array_to_string(NEW.result_ids, ',')) ||
          audit_field(NEW.status::text) || audit_field(NEW.reason) || audit_field(NEW.request_id) ||
          audit_field(NEW.client_ip) || audit_field(NEW.user_agent), 'UTF8'));
        UPDATE audit_chain_head SET seq = NEW.seq, hash = NEW.hash WHERE id = 1;
        RETURN NEW;
      END $$`);
    await q.query(`
      CREATE TRIGGER audit_events_chain BEFORE INSERT ON audit_events
        FOR EACH ROW EXECUTE FUNCTION audit_events_chain()`);
  }
}
