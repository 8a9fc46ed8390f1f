import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Two refreshes of one token at once (a client retrying after a lost
 * response, two tabs) ended the session: the loser counted as reuse (issue 11
 * item 8). A session now remembers the refresh jti it rotated last and when:
 * presented again within JWT_REFRESH_GRACE seconds, that token gets the same
 * successor instead of ending the session.
 */
export class RefreshGrace1796290100000 implements MigrationInterface {
  name = 'RefreshGrace1796290100000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE sessions ADD COLUMN previous_jti uuid, ADD COLUMN rotated_at timestamptz(3)`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE sessions DROP COLUMN previous_jti, DROP COLUMN rotated_at`);
  }
}
