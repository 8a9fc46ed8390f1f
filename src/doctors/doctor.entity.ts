import {
  Check,
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';
import { User } from '../users/user.entity.js';

// Mirrors migrations/1764160000000-InitialSchema so `migration:generate` stays empty.
@Entity({ name: 'doctors' })
@Check('doctors_phone_check', `phone ~ '^[0-9]{10}$'`)
@Check('doctors_name_check', 'char_length(name) >= 1')
@Check('doctors_version_check', 'version >= 1')
@Check('doctors_specialization_check', 'char_length(specialization) >= 1')
@Index('doctors_created_idx', ['createdAt', 'id'])
@Index('doctors_name_idx', ['name', 'id'])
@Index('doctors_specialization_idx', ['specialization', 'id'])
@Index('doctors_created_by_idx', ['createdById'])
// Expression (lower(...)) and trigram (gin_trgm_ops) indexes can't be described
// to TypeORM: declared by name only, never synchronized.
// Unique among live doctors only (partial: WHERE deleted_at IS NULL); a deleted doctor's email may be used again.
@Index('doctors_email_lower_key', { synchronize: false })
@Index('doctors_deleted_idx', { synchronize: false })
@Index('doctors_specialization_lower_idx', { synchronize: false })
@Index('doctors_name_trgm_idx', { synchronize: false })
@Index('doctors_specialization_trgm_idx', { synchronize: false })
export class Doctor {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'varchar', length: 200 })
  name: string;

  @Column({ type: 'varchar', length: 200 })
  specialization: string;

  /** Unique regardless of case (unique index on lower(email)). */
  @Column({ type: 'varchar', length: 254 })
  email: string;

  @Column({ type: 'char', length: 10 })
  phone: string;

  /** Who added the doctor: only they (or an admin) may change or delete it. */
  @Column({ name: 'created_by', type: 'uuid', nullable: true })
  createdById: string | null;

  @ManyToOne(() => User, { onDelete: 'SET NULL' })
  @JoinColumn({ name: 'created_by', foreignKeyConstraintName: 'doctors_created_by_fkey' })
  createdBy?: User;

  /** 1 when created, one more with every change, moved by the UPDATE that makes it; the record's ETag is W/"<version>". */
  @Column({ type: 'integer', default: 1 })
  version: number;

  /** When the record was deleted; null while it is live. A deleted record answers 404 everywhere until it is restored or purged. */
  @Column({ name: 'deleted_at', type: 'timestamptz', precision: 3, nullable: true })
  deletedAt: Date | null;

  /** Who deleted it. */
  @Column({ name: 'deleted_by', type: 'uuid', nullable: true })
  deletedById: string | null;

  @ManyToOne(() => User, { onDelete: 'SET NULL' })
  @JoinColumn({ name: 'deleted_by', foreignKeyConstraintName: 'doctors_deleted_by_fkey' })
  deletedBy?: User;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz', precision: 3 })
  updatedAt: Date;
}
