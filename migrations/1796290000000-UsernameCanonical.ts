import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Usernames are unique, and looked up at login, by one canonical form the app
 * computes (src/users/username.ts), stored in `username_canonical`. Until now
 * uniqueness and login used PostgreSQL's `lower(username)` while the lockout
 * used JavaScript's toLowerCase(), and the two disagree (`tİm1` reached the
 * locked `tim1`, issue 11 item 4). `username` keeps the spelling the user
 * chose (NFKC, as Django stores it).
 *
 * Existing rows get their canonical form here. Accounts that collide under
 * it (possible before: `lower()` on a C-collation database left `İ` alone)
 * are resolved in favour of the oldest (date_joined, then id): every later
 * one is deactivated, its sessions ended, and its canonical form set to
 * `DUPLICATE:<id>`, which no typed username can reach (the canonical form
 * never holds an ASCII capital). An admin sees them as inactive accounts;
 * their records stay. The migration logs how many there were.
 */
export class UsernameCanonical1796290000000 implements MigrationInterface {
  name = 'UsernameCanonical1796290000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE users ADD COLUMN username_canonical text`);
    const users: Array<{ id: string; username: string }> = await q.query(
      `SELECT id, username FROM users ORDER BY date_joined, id`,
    );
    const seen = new Set<string>();
    const ids: string[] = [];
    const forms: string[] = [];
    const duplicates: string[] = [];
    for (const user of users) {
      const form = canonical(user.username);
      ids.push(user.id);
      if (seen.has(form)) {
        duplicates.push(user.id);
        forms.push(`DUPLICATE:${user.id}`);
      } else {
        seen.add(form);
        forms.push(form);
      }
    }
    if (ids.length > 0) {
      await q.query(
        `UPDATE users u SET username_canonical = v.form
           FROM (SELECT unnest($1::uuid[]) AS id, unnest($2::text[]) AS form) v
          WHERE u.id = v.id`,
        [ids, forms],
      );
    }
    if (duplicates.length > 0) {
      await q.query(`UPDATE users SET is_active = false WHERE id = ANY ($1::uuid[])`, [duplicates]);
      await q.query(`UPDATE sessions SET revoked_at = now() WHERE user_id = ANY ($1::uuid[]) AND revoked_at IS NULL`, [
        duplicates,
      ]);
      q.connection.logger.log(
        'warn',
        `UsernameCanonical: ${duplicates.length} account(s) had a username that matches an older account's ` +
          `regardless of case and Unicode form; they were deactivated: ${duplicates.join(', ')}`,
      );
    }
    await q.query(`ALTER TABLE users ALTER COLUMN username_canonical SET NOT NULL`);
    await q.query(`CREATE UNIQUE INDEX users_username_canonical_key ON users (username_canonical)`);
    await q.query(`DROP INDEX users_username_lower_key`);
  }

  /** Accounts deactivated as duplicates stay deactivated; if two rows now share lower(username), this fails and changes nothing. */
  public async down(q: QueryRunner): Promise<void> {
    await q.query(`CREATE UNIQUE INDEX users_username_lower_key ON users (lower(username))`);
    await q.query(`DROP INDEX users_username_canonical_key`);
    await q.query(`ALTER TABLE users DROP COLUMN username_canonical`);
  }
}

/** A frozen copy of canonicalUsername() as it was when this migration was written (a migration must not change later). */
function canonical(username: string): string {
  let current = username;
  for (let round = 0; round < 4; round++) {
    const next = current.normalize('NFKC').toUpperCase().toLowerCase().normalize('NFKC').replace(/i\u0307/g, 'i');
    if (next === current) return next;
    current = next;
  }
  return current.toLowerCase();
}
