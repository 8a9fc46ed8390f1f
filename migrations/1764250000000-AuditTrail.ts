import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The audit trail (HIPAA 164.312(b)): an append-only table whose rows form a
 * hash chain. A trigger numbers each new row, stamps its time and chains its
 * hash to the previous row's (through a one-row head table, locked for the
 * insert, so concurrent inserts chain in commit order); other triggers refuse
 * UPDATE, TRUNCATE and any DELETE but the retention prune's. `npm run cli --
 * audit-verify` recomputes the chain outside the database.
 *
 * Row hash = sha256(prev_hash || canonical text), the canonical text being
 * every field in a fixed order, each as `<utf-8 byte length>:<value>` (or `~`
 * for NULL), so no value can be mistaken for a neighbour.
 */
export class AuditTrail1764250000000 implements MigrationInterface {
  name = 'AuditTrail1764250000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE audit_events (
        seq bigint PRIMARY KEY,
        at timestamptz(3) NOT NULL,
        actor_id uuid,
        session_id uuid,
        action varchar(32) NOT NULL,
        resource_type varchar(16),
        resource_id uuid,
        patient_id uuid,
        result_ids uuid[],
        status smallint NOT NULL,
        reason varchar(200),
        request_id varchar(128),
        client_ip varchar(64),
        user_agent varchar(512),
        prev_hash bytea NOT NULL,
        hash bytea NOT NULL,
        CONSTRAINT audit_events_action_check CHECK (action IN (
          'create', 'read', 'list', 'update', 'delete', 'login_succeeded', 'login_failed', 'token_refreshed',
          'refresh_reuse_detected', 'logout', 'password_changed', 'access_denied', 'user_changed', 'audit_pruned')),
        CONSTRAINT audit_events_resource_type_check CHECK (resource_type IN ('patient', 'mapping', 'doctor', 'user', 'audit_event'))
      )`);
    await q.query(`CREATE INDEX audit_events_at_idx ON audit_events (at, seq)`);
    await q.query(`CREATE INDEX audit_events_actor_idx ON audit_events (actor_id, seq)`);
    await q.query(`CREATE INDEX audit_events_patient_idx ON audit_events (patient_id, seq)`);
    await q.query(`CREATE INDEX audit_events_resource_idx ON audit_events (resource_type, resource_id, seq)`);

    await q.query(`
      CREATE TABLE audit_chain_head (
        id smallint PRIMARY KEY CONSTRAINT audit_chain_head_single CHECK (id = 1),
        seq bigint NOT NULL,
        hash bytea NOT NULL
      )`);
    // The genesis link: 32 zero bytes.
    await q.query(`INSERT INTO audit_chain_head (id, seq, hash) VALUES (1, 0, decode(repeat('00', 32), 'hex'))`);

    await q.query(`
      CREATE FUNCTION audit_field(v text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
        SELECT CASE WHEN v IS NULL THEN '~' ELSE octet_length(v)::text || ':' || v END
      $$`);
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

    // Append-only. The one exception is the retention prune (npm run cli -- audit-prune), which
    // announces itself for its transaction and may remove only rows older than the retention it names.
    await q.query(`
      CREATE FUNCTION audit_events_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
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
      CREATE TRIGGER audit_events_immutable BEFORE UPDATE OR DELETE ON audit_events
        FOR EACH ROW EXECUTE FUNCTION audit_events_immutable()`);
    await q.query(`
      CREATE FUNCTION audit_refuse_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION '% is append-only: TRUNCATE refused', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await q.query(`
      CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
        FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_truncate()`);
    // The head moves only from inside the chain trigger (trigger depth 2), never by a statement of its own.
    await q.query(`
      CREATE FUNCTION audit_chain_head_guard() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'UPDATE' AND pg_trigger_depth() > 1 THEN
          RETURN NEW;
        END IF;
        RAISE EXCEPTION 'audit_chain_head is maintained by the audit trigger only' USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await q.query(`
      CREATE TRIGGER audit_chain_head_guard BEFORE INSERT OR UPDATE OR DELETE ON audit_chain_head
        FOR EACH ROW EXECUTE FUNCTION audit_chain_head_guard()`);
    await q.query(`
      CREATE TRIGGER audit_chain_head_no_truncate BEFORE TRUNCATE ON audit_chain_head
        FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_truncate()`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE audit_events`);
    await q.query(`DROP TABLE audit_chain_head`);
    await q.query(`DROP FUNCTION audit_events_chain()`);
    await q.query(`DROP FUNCTION audit_events_immutable()`);
    await q.query(`DROP FUNCTION audit_refuse_truncate()`);
    await q.query(`DROP FUNCTION audit_chain_head_guard()`);
    await q.query(`DROP FUNCTION audit_field(text)`);
  }
}
