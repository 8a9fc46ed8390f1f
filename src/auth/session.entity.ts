import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { User } from '../users/user.entity.js';

/**
 * One row per login (a device). Every refresh token of a login belongs to its
 * session (the token family); only the newest one, `refresh_jti`, is valid.
 */
@Entity({ name: 'sessions' })
// A user's live sessions. TypeORM compares only the columns, not the WHERE.
@Index('sessions_user_id_idx', ['userId'], { where: 'revoked_at IS NULL' })
export class Session {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  // The name PostgreSQL gave the migration's inline REFERENCES.
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'sessions_user_id_fkey' })
  user?: User;

  /** The jti of the one refresh token that may still be used. */
  @Column({ name: 'refresh_jti', type: 'uuid' })
  refreshJti: string;

  /**
   * The jti this session rotated away from last, and when: presented again
   * within JWT_REFRESH_GRACE seconds it gets the same successor (a retry, two
   * tabs) instead of counting as reuse.
   */
  @Column({ name: 'previous_jti', type: 'uuid', nullable: true })
  previousJti: string | null;

  @Column({ name: 'rotated_at', type: 'timestamptz', precision: 3, nullable: true })
  rotatedAt: Date | null;

  /** The current refresh token stops working after this (idle timeout). */
  @Column({ name: 'refresh_expires_at', type: 'timestamptz', precision: 3 })
  refreshExpiresAt: Date;

  /** Absolute end of the session, whatever happens (automatic logoff). */
  @Column({ name: 'expires_at', type: 'timestamptz', precision: 3 })
  expiresAt: Date;

  @Column({ name: 'revoked_at', type: 'timestamptz', precision: 3, nullable: true })
  revokedAt: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt: Date;
}
