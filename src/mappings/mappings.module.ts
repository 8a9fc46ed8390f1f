import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuthModule } from '../auth/auth.module.js';
import { cursorCodecProvider } from '../common/cursor-codec.provider.js';
import { PatientsModule } from '../patients/patients.module.js';
import { Mapping } from './mapping.entity.js';
import { MappingsController } from './mappings.controller.js';
import { MappingsService } from './mappings.service.js';

@Module({
  imports: [TypeOrmModule.forFeature([Mapping]), PatientsModule, AuthModule],
  controllers: [MappingsController],
  providers: [MappingsService, cursorCodecProvider],
})
export class MappingsModule {}
