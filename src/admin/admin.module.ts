import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { DeletedModule } from '../deleted/deleted.module.js';
import { DoctorsModule } from '../doctors/doctors.module.js';
import { PaginationModule } from '../common/pagination/pagination.module.js';
import { MappingsModule } from '../mappings/mappings.module.js';
import { PatientsModule } from '../patients/patients.module.js';
import { SearchGateModule } from '../common/search-gate.js';
import { UsersModule } from '../users/users.module.js';
import { AdminDeletedController } from './admin-deleted.controller.js';
import { AdminDoctorsController } from './admin-doctors.controller.js';
import { AdminMappingsController } from './admin-mappings.controller.js';
import { AdminPatientsController } from './admin-patients.controller.js';
import { AdminUsersController } from './admin-users.controller.js';
import { AdminUsersService } from './admin-users.service.js';

/** The staff console's API under /api/admin/: admins only (RolesGuard), tagged `admin` in OpenAPI. */
@Module({
  imports: [UsersModule, AuthModule, PaginationModule, PatientsModule, DoctorsModule, MappingsModule, SearchGateModule, DeletedModule],
  controllers: [AdminPatientsController, AdminDoctorsController, AdminUsersController, AdminMappingsController, AdminDeletedController],
  providers: [AdminUsersService],
})
export class AdminModule {}
