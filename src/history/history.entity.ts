import { Check, Column, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { Doctor } from '../doctors/doctor.entity.js';
import { Patient } from '../patients/patient.entity.js';
import { User } from '../users/user.entity.js';

export const HISTORY_ACTIONS = ['create', 'update', 'delete', 'restore'] as const;
export type HistoryAction = (typeof HISTORY_ACTIONS)[number];

/** A field's value before and after one change (null before a create). */
export interface FieldChange {
  from: unknown;
  to: unknown;
}

/** What every version of a record says: which fields changed, when, by whom, how. */
abstract class HistoryEntry {
  /** The record's version this change made. */
  @PrimaryColumn({ type: 'integer' })
  version: number;

  @Column({ type: 'varchar', length: 7 })
  action: HistoryAction;

  @Column({ name: 'changed_at', type: 'timestamptz', precision: 3, default: () => 'now()' })
  changedAt: Date;

  /** Who made the change; null once that account is gone. */
  @Column({ name: 'changed_by', type: 'uuid', nullable: true })
  changedById: string | null;

  @Column({ type: 'jsonb' })
  changes: Record<string, FieldChange>;
}

// Mirrors migrations/1796290800000-RecordHistory so `migration:generate` stays empty.
@Entity({ name: 'patient_history' })
@Check('patient_history_action_check', `action IN ('create', 'update', 'delete', 'restore')`)
@Check('patient_history_version_check', 'version >= 1')
export class PatientHistory extends HistoryEntry {
  @PrimaryColumn({ name: 'patient_id', type: 'uuid' })
  patientId: string;

  @ManyToOne(() => Patient, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'patient_id', foreignKeyConstraintName: 'patient_history_patient_id_fkey' })
  patient?: Patient;

  @ManyToOne(() => User, { onDelete: 'SET NULL' })
  @JoinColumn({ name: 'changed_by', foreignKeyConstraintName: 'patient_history_changed_by_fkey' })
  changedBy?: User;
}

@Entity({ name: 'doctor_history' })
@Check('doctor_history_action_check', `action IN ('create', 'update', 'delete', 'restore')`)
@Check('doctor_history_version_check', 'version >= 1')
export class DoctorHistory extends HistoryEntry {
  @PrimaryColumn({ name: 'doctor_id', type: 'uuid' })
  doctorId: string;

  @ManyToOne(() => Doctor, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'doctor_id', foreignKeyConstraintName: 'doctor_history_doctor_id_fkey' })
  doctor?: Doctor;

  @ManyToOne(() => User, { onDelete: 'SET NULL' })
  @JoinColumn({ name: 'changed_by', foreignKeyConstraintName: 'doctor_history_changed_by_fkey' })
  changedBy?: User;
}
