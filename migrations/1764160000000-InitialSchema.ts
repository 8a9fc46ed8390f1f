import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Users, sessions, patients, doctors and their mappings. The database enforces
 * the rules itself: case-insensitive uniqueness, foreign keys, CHECKs; every
 * list query (keyset pages, filters, substring search) has an index.
 */
export class InitialSchema1764160000000 implements MigrationInterface {
  name = 'InitialSchema1764160000000';

  public async up(q: QueryRunner): Promise<void> {
    // Trigram indexes serve the case-insensitive substring searches (ILIKE '%x%').
    await q.query(`CREATE EXTENSION IF NOT EXISTS pg_trgm`);

    await q.query(`
      CREATE TABLE users (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        username varchar(150) NOT NULL,
        email varchar(254) NOT NULL,
        password_hash text NOT NULL,
        role varchar(16) NOT NULL DEFAULT 'user',
        is_active boolean NOT NULL DEFAULT true,
        date_joined timestamptz(3) NOT NULL DEFAULT now(),
        CONSTRAINT users_role_check CHECK (role IN ('user', 'admin')),
        CONSTRAINT users_username_check CHECK (char_length(username) BETWEEN 3 AND 150)
      )`);
    await q.query(`CREATE UNIQUE INDEX users_username_lower_key ON users (lower(username))`);
    await q.query(`CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email))`);

    await q.query(`
      CREATE TABLE sessions (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        refresh_jti uuid NOT NULL,
        refresh_expires_at timestamptz(3) NOT NULL,
        expires_at timestamptz(3) NOT NULL,
        revoked_at timestamptz(3),
        created_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX sessions_user_id_idx ON sessions (user_id) WHERE revoked_at IS NULL`);

    await q.query(`
      CREATE TABLE patients (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        owner_id uuid NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
        name varchar(200) NOT NULL,
        age smallint NOT NULL,
        gender varchar(7) NOT NULL,
        address varchar(500) NOT NULL DEFAULT '',
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now(),
        CONSTRAINT patients_age_check CHECK (age BETWEEN 0 AND 150),
        CONSTRAINT patients_gender_check CHECK (gender IN ('male', 'female', 'other', 'unknown')),
        CONSTRAINT patients_name_check CHECK (char_length(name) >= 1),
        -- Lets a mapping carry its patient's owner, checked by a composite foreign key.
        CONSTRAINT patients_id_owner_key UNIQUE (id, owner_id)
      )`);
    // An owner's pages in each allowed ordering (both directions use the same index).
    await q.query(`CREATE INDEX patients_owner_created_idx ON patients (owner_id, created_at, id)`);
    await q.query(`CREATE INDEX patients_owner_name_idx ON patients (owner_id, name, id)`);
    await q.query(`CREATE INDEX patients_owner_age_idx ON patients (owner_id, age, id)`);
    // An admin's pages across owners.
    await q.query(`CREATE INDEX patients_created_idx ON patients (created_at, id)`);
    await q.query(`CREATE INDEX patients_name_idx ON patients (name, id)`);
    await q.query(`CREATE INDEX patients_age_idx ON patients (age, id)`);
    await q.query(`CREATE INDEX patients_name_trgm_idx ON patients USING gin (name gin_trgm_ops)`);

    await q.query(`
      CREATE TABLE doctors (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name varchar(200) NOT NULL,
        specialization varchar(200) NOT NULL,
        email varchar(254) NOT NULL,
        phone char(10) NOT NULL,
        created_by uuid REFERENCES users (id) ON DELETE SET NULL,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now(),
        CONSTRAINT doctors_phone_check CHECK (phone ~ '^[0-9]{10}$'),
        CONSTRAINT doctors_name_check CHECK (char_length(name) >= 1),
        CONSTRAINT doctors_specialization_check CHECK (char_length(specialization) >= 1)
      )`);
    await q.query(`CREATE UNIQUE INDEX doctors_email_lower_key ON doctors (lower(email))`);
    await q.query(`CREATE INDEX doctors_created_idx ON doctors (created_at, id)`);
    await q.query(`CREATE INDEX doctors_name_idx ON doctors (name, id)`);
    await q.query(`CREATE INDEX doctors_specialization_idx ON doctors (specialization, id)`);
    await q.query(`CREATE INDEX doctors_specialization_lower_idx ON doctors (lower(specialization))`);
    await q.query(`CREATE INDEX doctors_created_by_idx ON doctors (created_by)`);
    await q.query(`CREATE INDEX doctors_name_trgm_idx ON doctors USING gin (name gin_trgm_ops)`);
    await q.query(`CREATE INDEX doctors_specialization_trgm_idx ON doctors USING gin (specialization gin_trgm_ops)`);

    await q.query(`
      CREATE TABLE patient_doctor_mappings (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        patient_id uuid NOT NULL,
        -- The patient's owner, copied so that a user's mappings are one index
        -- range; the composite key below keeps it equal to the patient's.
        owner_id uuid NOT NULL,
        doctor_id uuid NOT NULL REFERENCES doctors (id) ON DELETE CASCADE,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        CONSTRAINT patient_doctor_mappings_patient_id_fkey FOREIGN KEY (patient_id, owner_id)
          REFERENCES patients (id, owner_id) ON DELETE CASCADE,
        CONSTRAINT patient_doctor_mappings_pair_key UNIQUE (patient_id, doctor_id)
      )`);
    // The pair key (patient_id, doctor_id) serves a patient's doctors; these serve
    // the cascade from doctors and the keyset pages (a user's, an admin's, a patient's).
    await q.query(`CREATE INDEX patient_doctor_mappings_doctor_idx ON patient_doctor_mappings (doctor_id)`);
    await q.query(
      `CREATE INDEX patient_doctor_mappings_owner_created_idx ON patient_doctor_mappings (owner_id, created_at, id)`,
    );
    await q.query(`CREATE INDEX patient_doctor_mappings_created_idx ON patient_doctor_mappings (created_at, id)`);
    await q.query(
      `CREATE INDEX patient_doctor_mappings_patient_created_idx ON patient_doctor_mappings (patient_id, created_at, id)`,
    );
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE patient_doctor_mappings`);
    await q.query(`DROP TABLE doctors`);
    await q.query(`DROP TABLE patients`);
    await q.query(`DROP TABLE sessions`);
    await q.query(`DROP TABLE users`);
  }
}
