import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuthModule } from '../auth/auth.module.js';
import { cursorCodecProvider } from '../common/cursor-codec.provider.js';
import { Doctor } from './doctor.entity.js';
import { DoctorsController } from './doctors.controller.js';
import { DoctorsService } from './doctors.service.js';

@Module({
  imports: [TypeOrmModule.forFeature([Doctor]), AuthModule],
  controllers: [DoctorsController],
  providers: [DoctorsService, cursorCodecProvider],
  exports: [DoctorsService],
})
export class DoctorsModule {}
