import { ConflictException, ForbiddenException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { DataSource, type Repository } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { sqlState, UNIQUE_VIOLATION } from '../common/db-errors.js';
import type { AuthUser } from '../auth/current-user.decorator.js';
import { CursorCodec, keysetPage, type PageDto, pageRequest, parseOrdering, type SortField } from '../common/pagination.js';
import { entityFromRow, likeContains, toDate } from '../common/sql.js';
import { PreparedSql, preparedFetch } from '../database/prepared-sql.js';
import { Doctor } from './doctor.entity.js';
import { type DoctorDto, toDoctorDto } from './dto/doctor-response.dto.js';
import type { CreateDoctorDto } from './dto/create-doctor.dto.js';
import type { ListDoctorsDto } from './dto/list-doctors.dto.js';
import type { UpdateDoctorDto } from './dto/update-doctor.dto.js';

const ORDER_FIELDS: Record<string, SortField> = {
  name: { column: 'name', kind: 'string' },
  specialization: { column: 'specialization', kind: 'string' },
  created_at: { column: 'created_at', kind: 'date' },
};
const PROPERTY_OF: Record<string, string> = { name: 'name', specialization: 'specialization', created_at: 'createdAt' };
const RETURNING = ['id', 'name', 'specialization', 'email', 'phone', 'createdById', 'createdAt', 'updatedAt'];
const DUPLICATE_EMAIL = 'A doctor with that email already exists.';

/** A row of TypeORM's SELECT for alias d: every column as d_<column>. */
function doctorFromAliasedRow(row: Record<string, unknown>): Doctor {
  const doctor = new Doctor();
  doctor.id = row.d_id as string;
  doctor.name = row.d_name as string;
  doctor.specialization = row.d_specialization as string;
  doctor.email = row.d_email as string;
  doctor.phone = row.d_phone as string;
  doctor.createdById = (row.d_created_by as string | null) ?? null;
  doctor.createdAt = toDate(row.d_created_at);
  doctor.updatedAt = toDate(row.d_updated_at);
  return doctor;
}

/** Doctors are shared: everyone reads and adds; only the creator or an admin changes or deletes (else 403). */
@Injectable()
export class DoctorsService {
  constructor(
    @InjectRepository(Doctor) private readonly doctors: Repository<Doctor>,
    private readonly cursors: CursorCodec,
    private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly sql: PreparedSql,
  ) {}

  /** Each change and its audit event commit together. */
  async create(user: AuthUser, dto: CreateDoctorDto): Promise<DoctorDto> {
    try {
      return await this.dataSource.transaction(async (m) => {
        const result = await m
          .getRepository(Doctor)
          .createQueryBuilder()
          .insert()
          .values({ ...dto, createdById: user.id })
          .returning(RETURNING)
          .execute();
        const doctor = this.doctors.create(result.generatedMaps[0] as Doctor);
        await this.audit.record({ action: 'create', resourceType: 'doctor', resourceId: doctor.id, status: 201 }, m);
        return toDoctorDto(doctor);
      });
    } catch (error) {
      if (sqlState(error) === UNIQUE_VIOLATION) throw new ConflictException(DUPLICATE_EMAIL);
      throw error;
    }
  }

  async list(query: ListDoctorsDto, url: URL): Promise<PageDto<DoctorDto>> {
    const ordering = parseOrdering(query.ordering, ORDER_FIELDS, '-created_at');
    const page = pageRequest(query, ordering, this.cursors, 'doctors');
    const qb = this.doctors.createQueryBuilder('d');
    if (query.search) {
      qb.andWhere('(d.name ILIKE :search OR d.specialization ILIKE :search)', { search: likeContains(query.search) });
    }
    if (query.specialization) {
      qb.andWhere('lower(d.specialization) = lower(:specialization)', { specialization: query.specialization });
    }
    const result = await keysetPage(qb, 'd', page, (c) => PROPERTY_OF[c], this.cursors, {
      url,
      // Everyone's doctor search, as a prepared statement.
      fetch: preparedFetch(this.sql, doctorFromAliasedRow),
    });
    return { ...result, results: result.results.map(toDoctorDto) };
  }

  async get(id: string): Promise<DoctorDto> {
    return toDoctorDto(await this.findExisting(id));
  }

  async findExisting(id: string): Promise<Doctor> {
    const doctor = await this.doctors.findOne({ where: { id } });
    if (!doctor) throw new NotFoundException('Doctor not found.');
    return doctor;
  }

  async update(user: AuthUser, id: string, dto: UpdateDoctorDto): Promise<DoctorDto> {
    const changes: Partial<Doctor> = { ...dto };
    let row: Record<string, unknown> | undefined;
    try {
      row = await this.dataSource.transaction(async (m) => {
        const qb = m
          .getRepository(Doctor)
          .createQueryBuilder()
          .update()
          .set({ ...changes, updatedAt: () => 'now()' })
          .where('id = :id', { id });
        if (user.role !== 'admin') qb.andWhere('created_by = :userId', { userId: user.id });
        const [changed] = (await qb.returning(RETURNING).execute()).raw as Record<string, unknown>[];
        if (changed) await this.audit.record({ action: 'update', resourceType: 'doctor', resourceId: id, status: 200 }, m);
        return changed;
      });
    } catch (error) {
      if (sqlState(error) === UNIQUE_VIOLATION) throw new ConflictException(DUPLICATE_EMAIL);
      throw error;
    }
    // After the transaction: on PGlite its one session is free again for the lookup.
    if (!row) throw await this.denial(id);
    return toDoctorDto(entityFromRow(this.doctors, row));
  }

  async remove(user: AuthUser, id: string): Promise<void> {
    const removed = await this.dataSource.transaction(async (m) => {
      const qb = m.getRepository(Doctor).createQueryBuilder().delete().where('id = :id', { id });
      if (user.role !== 'admin') qb.andWhere('created_by = :userId', { userId: user.id });
      const result = await qb.execute();
      if (result.affected) await this.audit.record({ action: 'delete', resourceType: 'doctor', resourceId: id, status: 204 }, m);
      return Boolean(result.affected);
    });
    if (!removed) throw await this.denial(id);
  }

  /** After a write matched nothing: 404 if the doctor is missing, 403 if it is someone else's. */
  private async denial(id: string): Promise<Error> {
    const exists = await this.doctors.exists({ where: { id } });
    return exists
      ? new ForbiddenException('Only the user who added this doctor, or an admin, may change or delete it.')
      : new NotFoundException('Doctor not found.');
  }
}
