import {
  Check,
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  Unique,
  UpdateDateColumn,
} from 'typeorm';
import { User } from '../users/user.entity.js';

export const GENDERS = ['male', 'female', 'other', 'unknown'] as const;
export type Gender = (typeof GENDERS)[number];

// Mirrors migrations/1764160000000-InitialSchema so `migration:generate` stays empty.
@Entity({ name: 'patients' })
@Check('patients_age_check', 'age BETWEEN 0 AND 150')
@Check('patients_gender_check', `gender IN ('male', 'female', 'other', 'unknown')`)
@Check('patients_name_check', 'char_length(name) >= 1')
@Check('patients_version_check', 'version >= 1')
// Referenced by a mapping's (patient_id, owner_id).
@Unique('patients_id_owner_key', ['id', 'ownerId'])
// Keyset pages: an owner's in each ordering, then an admin's across owners.
@Index('patients_owner_created_idx', ['ownerId', 'createdAt', 'id'])
@Index('patients_owner_name_idx', ['ownerId', 'name', 'id'])
@Index('patients_owner_age_idx', ['ownerId', 'age', 'id'])
@Index('patients_created_idx', ['createdAt', 'id'])
@Index('patients_name_idx', ['name', 'id'])
@Index('patients_age_idx', ['age', 'id'])
// gin (name gin_trgm_ops): TypeORM can't express the operator class; declared by name only, never synchronized.
@Index('patients_name_trgm_idx', { synchronize: false })
// The deleted rows, oldest first (partial: WHERE deleted_at IS NOT NULL), for the Deleted list and the purge.
@Index('patients_deleted_idx', { synchronize: false })
export class Patient {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  /** The user who created the record; never taken from a request body. */
  @Column({ name: 'owner_id', type: 'uuid' })
  ownerId: string;

  @ManyToOne(() => User, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'owner_id', foreignKeyConstraintName: 'patients_owner_id_fkey' })
  owner?: User;

  @Column({ type: 'varchar', length: 200 })
  name: string;

  @Column({ type: 'smallint' })
  age: number;

  @Column({ type: 'varchar', length: 7 })
  gender: Gender;

  @Column({ type: 'varchar', length: 500, default: '' })
  address: string;

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
  @JoinColumn({ name: 'deleted_by', foreignKeyConstraintName: 'patients_deleted_by_fkey' })
  deletedBy?: User;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz', precision: 3 })
  updatedAt: Date;
}
