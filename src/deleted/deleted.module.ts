import { Module } from '@nestjs/common';
import { DoctorsModule } from '../doctors/doctors.module.js';
import { PatientsModule } from '../patients/patients.module.js';
import { DeletedPurger } from './deleted-purger.js';
import { DeletedRecordsService } from './deleted-records.service.js';

/** Deleted patients and doctors: the admins' list of them, and their purge after DELETED_RETENTION_DAYS (CLI and background). */
@Module({
  imports: [PatientsModule, DoctorsModule],
  providers: [DeletedRecordsService, DeletedPurger],
  exports: [DeletedRecordsService],
})
export class DeletedModule {}
