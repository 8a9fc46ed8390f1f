import { Check, Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export const ROLES = ['user', 'admin'] as const;
export type Role = (typeof ROLES)[number];

// Mirrors migrations/1764160000000-InitialSchema so `migration:generate` stays empty.
@Entity({ name: 'users' })
@Check('users_role_check', `role IN ('user', 'admin')`)
@Check('users_username_check', 'char_length(username) BETWEEN 3 AND 150')
// An expression index (lower(...)) can't be described to TypeORM: declared by name only, never synchronized.
@Index('users_email_lower_key', { synchronize: false })
export class User {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  /** As the user chose it (NFKC-normalised, as Django stores it); shown and returned as `username`. */
  @Column({ type: 'varchar', length: 150 })
  username: string;

  /** canonicalUsername(username): what uniqueness and login compare (see src/users/username.ts). */
  @Index('users_username_canonical_key', { unique: true })
  @Column({ name: 'username_canonical', type: 'text' })
  usernameCanonical: string;

  /** Unique regardless of case (unique index on lower(email)). */
  @Column({ type: 'varchar', length: 254 })
  email: string;

  @Column({ name: 'password_hash', type: 'text', select: false })
  passwordHash: string;

  @Column({ type: 'varchar', length: 16, default: 'user' })
  role: Role;

  @Column({ name: 'is_active', type: 'boolean', default: true })
  isActive: boolean;

  @CreateDateColumn({ name: 'date_joined', type: 'timestamptz', precision: 3 })
  dateJoined: Date;
}
