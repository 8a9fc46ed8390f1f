import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  Unique,
} from 'typeorm';
import { Doctor } from '../doctors/doctor.entity.js';
import { Patient } from '../patients/patient.entity.js';

// Mirrors migrations/1764160000000-InitialSchema so `migration:generate` stays empty.
/** A doctor assigned to a patient; one row per pair. */
@Entity({ name: 'patient_doctor_mappings' })
@Unique('patient_doctor_mappings_pair_key', ['patientId', 'doctorId'])
@Index('patient_doctor_mappings_doctor_idx', ['doctorId'])
@Index('patient_doctor_mappings_owner_created_idx', ['ownerId', 'createdAt', 'id'])
@Index('patient_doctor_mappings_created_idx', ['createdAt', 'id'])
@Index('patient_doctor_mappings_patient_created_idx', ['patientId', 'createdAt', 'id'])
export class Mapping {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'patient_id', type: 'uuid' })
  patientId: string;

  /** The patient's owner: a user's mappings are one index range. The foreign key (patient_id, owner_id) keeps it true. */
  @Column({ name: 'owner_id', type: 'uuid' })
  ownerId: string;

  @ManyToOne(() => Patient, { onDelete: 'CASCADE' })
  @JoinColumn([
    { name: 'patient_id', referencedColumnName: 'id', foreignKeyConstraintName: 'patient_doctor_mappings_patient_id_fkey' },
    { name: 'owner_id', referencedColumnName: 'ownerId' },
  ])
  patient?: Patient;

  @Column({ name: 'doctor_id', type: 'uuid' })
  doctorId: string;

  @ManyToOne(() => Doctor, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'doctor_id', foreignKeyConstraintName: 'patient_doctor_mappings_doctor_id_fkey' })
  doctor?: Doctor;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt: Date;
}
