import { Column, CreateDateColumn, Entity, JoinColumn, ManyToOne, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { User } from '../../users/user.entity.js';

// Mirrors migrations/1796290300000-Mfa.
/** One single-use recovery code, kept only as its keyed hash (see recovery-codes.ts). */
@Entity({ name: 'mfa_recovery_codes' })
@Unique('mfa_recovery_codes_user_hash_key', ['userId', 'codeHash'])
export class MfaRecoveryCode {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'mfa_recovery_codes_user_id_fkey' })
  user?: User;

  @Column({ name: 'code_hash', type: 'text', select: false })
  codeHash: string;

  /** Set when the code is spent; a spent code never works again. */
  @Column({ name: 'used_at', type: 'timestamptz', precision: 3, nullable: true })
  usedAt: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt: Date;
}
