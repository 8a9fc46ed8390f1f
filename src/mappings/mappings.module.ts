import { Module } from '@nestjs/common';
import { PaginationModule } from '../common/pagination/pagination.module.js';
import { PatientsModule } from '../patients/patients.module.js';
import { MappingsController } from './mappings.controller.js';
import { MappingsRepository } from './mappings.repository.js';
import { MappingsService } from './mappings.service.js';

@Module({
  imports: [PatientsModule, PaginationModule],
  controllers: [MappingsController],
  providers: [MappingsService, MappingsRepository],
  exports: [MappingsService],
})
export class MappingsModule {}
