import { Column, CreateDateColumn, Entity, JoinColumn, OneToOne, PrimaryColumn } from 'typeorm';
import { User } from '../../users/user.entity.js';

// Mirrors migrations/1796290300000-Mfa so `migration:generate` stays empty.
/**
 * A user's TOTP second factor: at most one. Written by setup (pending), turned
 * on by confirm, removed by disable. Its own table, so the users row and the
 * queries on it stay as they are.
 */
@Entity({ name: 'mfa_factors' })
export class MfaFactor {
  @PrimaryColumn({ name: 'user_id', type: 'uuid' })
  userId: string;

  @OneToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'mfa_factors_user_id_fkey' })
  user?: User;

  /** The base32 secret, sealed with AES-256-GCM (see secret-box.ts); the key is not in the database. */
  @Column({ name: 'secret_encrypted', type: 'text', select: false })
  secretEncrypted: string;

  /** When the user proved their app works; null while setup is pending (the factor is not asked for). */
  @Column({ name: 'confirmed_at', type: 'timestamptz', precision: 3, nullable: true })
  confirmedAt: Date | null;

  /** The newest time step accepted: an older or equal one is a replay. bigint, as a string. */
  @Column({ name: 'last_used_step', type: 'bigint', nullable: true })
  lastUsedStep: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt: Date;
}
