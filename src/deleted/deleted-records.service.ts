import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { AuthUser } from '../auth/current-user.decorator.js';
import { mapPage, type PageDto } from '../common/pagination/page.dto.js';
import { AppConfig } from '../config/app-config.js';
import { DoctorsService } from '../doctors/doctors.service.js';
import { PatientsService } from '../patients/patients.service.js';
import { type DeletedRecordDto, type ListDeletedDto, toDeletedRecordDto } from './deleted.dto.js';

/** Records removed for good in one transaction: small enough to hold no lock for long. */
export const PURGE_BATCH = 200;

/** The transaction-level advisory lock one purge holds: two instances never purge at once. */
export const PURGE_LOCK_KEY = 7_245_001;

export interface PurgeResult {
  patients: number;
  doctors: number;
  /** Another instance was purging: this one left it to them. */
  busy: boolean;
}

/**
 * The deleted patients and doctors: the admins' list of them, and the purge
 * that removes for good those deleted longer than DELETED_RETENTION_DAYS
 * ago (with their history and mappings, by the foreign keys), each with an
 * audit event. Restores are their own services'.
 */
@Injectable()
export class DeletedRecordsService {
  constructor(
    private readonly patients: PatientsService,
    private readonly doctors: DoctorsService,
    private readonly dataSource: DataSource,
    private readonly config: AppConfig,
  ) {}

  async list(user: AuthUser, query: ListDeletedDto, url: URL): Promise<PageDto<DeletedRecordDto>> {
    const days = this.config.records.deletedRetentionDays;
    if ((query.type ?? 'patient') === 'patient') return mapPage(await this.patients.listDeleted(user, query, url), (p) => toDeletedRecordDto('patient', p, days));
    return mapPage(await this.doctors.listDeleted(user, query, url), (d) => toDeletedRecordDto('doctor', d, days));
  }

  /**
   * Removes, in batches of PURGE_BATCH, every patient and doctor deleted
   * before the retention; each batch holds PURGE_LOCK_KEY, and when another
   * instance holds it this one stops (`busy`) and leaves the work to it.
   */
  async purgeExpired(now = new Date()): Promise<PurgeResult> {
    const before = new Date(now.getTime() - this.config.records.deletedRetentionDays * 86_400_000);
    const result: PurgeResult = { patients: 0, doctors: 0, busy: false };
    for (;;) {
      const batch = await this.dataSource.transaction(async (m) => {
        const [{ locked }] = (await m.query('SELECT pg_try_advisory_xact_lock($1) AS locked', [PURGE_LOCK_KEY])) as Array<{ locked: boolean }>;
        if (!locked) return null;
        const patients = await this.patients.purgeDeleted(before, PURGE_BATCH, m);
        const doctors = patients.length < PURGE_BATCH ? await this.doctors.purgeDeleted(before, PURGE_BATCH - patients.length, m) : [];
        return { patients: patients.length, doctors: doctors.length };
      });
      if (!batch) return { ...result, busy: true };
      result.patients += batch.patients;
      result.doctors += batch.doctors;
      if (batch.patients + batch.doctors < PURGE_BATCH) return result;
    }
  }
}
