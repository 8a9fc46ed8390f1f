import { ConflictException, ForbiddenException, Injectable, NotFoundException } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { sqlState, UNIQUE_VIOLATION } from '../common/db-errors.js';
import type { AuthUser } from '../auth/current-user.decorator.js';
import { CursorCodec } from '../common/pagination/cursor-codec.js';
import { pageRequest, parseOrdering } from '../common/pagination/keyset-query.js';
import { mapPage, type PageDto, pageOf } from '../common/pagination/page.dto.js';
import { isConditional, PreconditionFailedException, type Preconditions } from '../common/preconditions.js';
import type { PageQueryDto } from '../common/pagination/page-query.dto.js';
import { SearchGate } from '../common/search-gate.js';
import { writeTransaction } from '../database/write-transaction.js';
import { type HistoryEntryDto, type ListHistoryDto } from '../history/history.dto.js';
import { changesBetween } from '../history/history.js';
import { HistoryService } from '../history/history.service.js';
import type { Doctor } from './doctor.entity.js';
import { type DoctorFilter, DoctorsRepository } from './doctors.repository.js';
import type { CreateDoctorDto } from './dto/create-doctor.dto.js';
import { type DoctorDto, toDoctorDto } from './dto/doctor-response.dto.js';
import { DOCTOR_DEFAULT_ORDERING, type ListDoctorsDto } from './dto/list-doctors.dto.js';
import type { UpdateDoctorDto } from './dto/update-doctor.dto.js';

const DUPLICATE_EMAIL = 'A doctor with that email already exists.';

/** Doctors are shared: everyone reads and adds; only the creator or an admin changes or deletes (else 403). */
@Injectable()
export class DoctorsService {
  constructor(
    private readonly doctors: DoctorsRepository,
    private readonly cursors: CursorCodec,
    private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly searches: SearchGate,
    private readonly history: HistoryService,
  ) {}

  /** Each change and its audit event commit together. */
  async create(user: AuthUser, dto: CreateDoctorDto): Promise<DoctorDto> {
    try {
      return await writeTransaction(this.dataSource, async (m) => {
        const doctor = await this.doctors.insert({ ...dto, createdById: user.id }, m);
        const entry = { version: doctor.version, action: 'create' as const, changedById: user.id, changes: changesBetween(null, doctor, DOCTOR_FIELDS) };
        await this.history.record('doctor', doctor.id, entry, m);
        await this.audit.record({ action: 'create', resourceType: 'doctor', resourceId: doctor.id, status: 201 }, m);
        return toDoctorDto(doctor);
      });
    } catch (error) {
      if (sqlState(error) === UNIQUE_VIOLATION) throw new ConflictException(DUPLICATE_EMAIL);
      throw error;
    }
  }

  async list(user: AuthUser, query: ListDoctorsDto, url: URL): Promise<PageDto<DoctorDto>> {
    const ordering = parseOrdering(query.ordering, this.doctors.sortFields, DOCTOR_DEFAULT_ORDERING);
    const page = pageRequest(query, ordering, this.cursors, 'doctors', user);
    // An empty search is no search.
    const filter: DoctorFilter = { search: query.search || undefined, specialization: query.specialization || undefined };
    const list = () => this.doctors.listPage(filter, page);
    // A search counts against the caller's concurrent searches (429 beyond).
    const rows: Doctor[] = await this.searches.list(user.id, filter.search, list);
    return mapPage(pageOf(rows, page, url, this.cursors), toDoctorDto);
  }

  async get(id: string): Promise<DoctorDto> {
    return toDoctorDto(await this.findExisting(id));
  }

  /** Every version of a doctor, newest first (everyone reads doctors; 404 for a missing one). */
  async historyOf(user: AuthUser, id: string, query: ListHistoryDto, url: URL): Promise<PageDto<HistoryEntryDto>> {
    await this.findExisting(id);
    return this.history.page('doctor', id, user, query, url);
  }

  async findExisting(id: string): Promise<Doctor> {
    const doctor = await this.doctors.findById(id);
    if (!doctor) throw new NotFoundException('Doctor not found.');
    return doctor;
  }

  /** PUT and PATCH: one UPDATE, scoped to the creator (or an admin) and checking `conditions` on the version in the same statement. */
  async update(user: AuthUser, id: string, dto: UpdateDoctorDto, conditions: Preconditions = {}): Promise<DoctorDto> {
    let doctor: Doctor | null;
    try {
      doctor = await this.dataSource.transaction(async (m) => {
        // Locked first, so the history says exactly what this change replaced; the version is still checked by the UPDATE.
        const before = await this.doctors.findForUpdate(id, creatorScope(user), m);
        if (!before) return null;
        const changed = await this.doctors.update(id, { ...dto }, creatorScope(user), m, conditions);
        if (changed) {
          const entry = { version: changed.version, action: 'update' as const, changedById: user.id, changes: changesBetween(before, changed, DOCTOR_FIELDS) };
          await this.history.record('doctor', id, entry, m);
          await this.audit.record({ action: 'update', resourceType: 'doctor', resourceId: id, status: 200 }, m);
        }
        return changed;
      });
    } catch (error) {
      if (sqlState(error) === UNIQUE_VIOLATION) throw new ConflictException(DUPLICATE_EMAIL);
      throw error;
    }
    // After the transaction: on PGlite its one session is free again for the lookup.
    if (!doctor) throw await this.denial(user, id, conditions);
    return toDoctorDto(doctor);
  }

  /** Marks the doctor deleted: 404 everywhere from then on, its assignments hidden and its email free, until restored or purged. */
  async remove(user: AuthUser, id: string, conditions: Preconditions = {}): Promise<void> {
    const removed = await this.dataSource.transaction(async (m) => {
      const deleted = await this.doctors.softDelete(id, user.id, creatorScope(user), m, conditions);
      if (deleted) {
        await this.history.record('doctor', id, { version: deleted.version, action: 'delete', changedById: user.id, changes: {} }, m);
        await this.audit.record({ action: 'delete', resourceType: 'doctor', resourceId: id, status: 204 }, m);
      }
      return deleted;
    });
    if (!removed) throw await this.denial(user, id, conditions);
  }

  /** An admin brings a deleted doctor back, with its assignments: 404 if none is deleted, 409 when a live doctor now has its email. */
  async restore(user: AuthUser, id: string): Promise<DoctorDto> {
    let restored: Doctor | null;
    try {
      restored = await this.dataSource.transaction(async (m) => {
        const doctor = await this.doctors.restore(id, m);
        if (doctor) {
          await this.history.record('doctor', id, { version: doctor.version, action: 'restore', changedById: user.id, changes: {} }, m);
          await this.audit.record({ action: 'restore', resourceType: 'doctor', resourceId: id, status: 200 }, m);
        }
        return doctor;
      });
    } catch (error) {
      if (sqlState(error) === UNIQUE_VIOLATION) {
        throw new ConflictException('A live doctor now has this doctor\'s email: change or delete that doctor first, then restore this one.');
      }
      throw error;
    }
    if (!restored) throw new NotFoundException('No deleted doctor with this id can be restored.');
    return toDoctorDto(restored);
  }

  /** The deleted doctors, most recently deleted first, for the admins' Deleted list. */
  async listDeleted(user: AuthUser, query: PageQueryDto, url: URL): Promise<PageDto<Doctor>> {
    const ordering = parseOrdering(undefined, this.doctors.deletedSortFields, '-deleted_at');
    const page = pageRequest(query, ordering, this.cursors, 'doctors-deleted', user);
    return pageOf(await this.doctors.listDeletedPage(page), page, url, this.cursors);
  }

  /** Removes for good up to `limit` doctors deleted before `before`, each with an audit event, in the caller's transaction; their ids. */
  async purgeDeleted(before: Date, limit: number, m: EntityManager): Promise<string[]> {
    const ids = await this.doctors.purgeDeleted(before, limit, m);
    for (const id of ids) await this.audit.record({ action: 'purge', resourceType: 'doctor', resourceId: id, status: 200, reason: 'retention' }, m);
    return ids;
  }

  /**
   * After a write matched nothing: 404 if the doctor is missing, 403 if it is
   * someone else's (both before any precondition, as RFC 9110 orders them),
   * 412 (with the version it is at) if the caller's conditions failed.
   */
  private async denial(user: AuthUser, id: string, conditions: Preconditions): Promise<Error> {
    const doctor = await this.doctors.findById(id);
    if (!doctor) return new NotFoundException('Doctor not found.');
    const mayChange = user.role === 'admin' || doctor.createdById === user.id;
    if (mayChange && isConditional(conditions)) return new PreconditionFailedException('doctor', doctor.version);
    return new ForbiddenException('Only the user who added this doctor, or an admin, may change or delete it.');
  }
}

/** The fields a doctor's history follows. */
const DOCTOR_FIELDS = ['name', 'specialization', 'email', 'phone'] as const;

/** Which doctors the caller may change: those they added, or (an admin) every one. */
function creatorScope(user: AuthUser): string | undefined {
  return user.role === 'admin' ? undefined : user.id;
}
