import { Injectable, NotFoundException } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { AppConfig } from '../config/app-config.js';
import { writeTransaction } from '../database/write-transaction.js';
import { AuditService } from '../audit/audit.service.js';
import type { AuthUser } from '../auth/current-user.decorator.js';
import { CursorCodec } from '../common/pagination/cursor-codec.js';
import { type PageRequest, pageRequest, parseOrdering } from '../common/pagination/keyset-query.js';
import { mapPage, type PageDto, pageOf } from '../common/pagination/page.dto.js';
import { isConditional, PreconditionFailedException, type Preconditions } from '../common/preconditions.js';
import type { PageQueryDto } from '../common/pagination/page-query.dto.js';
import { SearchGate } from '../common/search-gate.js';
import type { CreatePatientDto } from './dto/create-patient.dto.js';
import type { ListAdminPatientsDto } from './dto/list-admin-patients.dto.js';
import { type ListPatientsDto, PATIENT_DEFAULT_ORDERING } from './dto/list-patients.dto.js';
import { type AdminPatientDto, type PatientDto, toAdminPatientDto, toPatientDto } from './dto/patient-response.dto.js';
import type { UpdatePatientDto } from './dto/update-patient.dto.js';
import { type HistoryEntryDto, type ListHistoryDto } from '../history/history.dto.js';
import { changesBetween } from '../history/history.js';
import { HistoryService } from '../history/history.service.js';
import type { Patient } from './patient.entity.js';
import { type PatientChanges, type PatientFilter, PatientsRepository } from './patients.repository.js';

/**
 * Patients belong to the user who created them. Everyone else gets 404 for
 * them, exactly as for a missing id; admins see and change every patient.
 */
@Injectable()
export class PatientsService {
  constructor(
    private readonly patients: PatientsRepository,
    private readonly cursors: CursorCodec,
    private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly searches: SearchGate,
    private readonly history: HistoryService,
    private readonly config: AppConfig,
  ) {}

  /** Each write and its audit event commit together. */
  async create(user: AuthUser, dto: CreatePatientDto): Promise<PatientDto> {
    return writeTransaction(this.dataSource, async (m) => {
      const patient = await this.patients.insert(
        { ownerId: user.id, name: dto.name, age: dto.age, gender: dto.gender, address: dto.address ?? '' },
        m,
      );
      await this.history.record(
        'patient',
        patient.id,
        { version: patient.version, action: 'create', changedById: user.id, changes: changesBetween(null, patient, PATIENT_FIELDS) },
        m,
      );
      await this.audit.record({ action: 'create', resourceType: 'patient', resourceId: patient.id, patientId: patient.id, status: 201 }, m);
      return toPatientDto(patient);
    });
  }

  async list(user: AuthUser, query: ListPatientsDto, url: URL): Promise<PageDto<PatientDto>> {
    const page = this.pageRequest(user, query, 'patients');
    const filter = { ...filterOf(query), ownerId: user.role === 'admin' ? undefined : user.id };
    // A search counts against the caller's concurrent searches (429 beyond).
    const rows = await this.searches.list(user.id, filter.search, () => this.patients.listPage(filter, page));
    return mapPage(pageOf(rows, page, url, this.cursors), toPatientDto);
  }

  /** The staff console's list: every owner's patients (or one owner's), each with its owner's username. */
  async listAll(user: AuthUser, query: ListAdminPatientsDto, url: URL): Promise<PageDto<AdminPatientDto>> {
    const page = this.pageRequest(user, query, 'admin-patients');
    const filter = { ...filterOf(query), ownerId: query.owner };
    const rows = await this.searches.list(user.id, filter.search, () => this.patients.listPageWithOwners(filter, page));
    return mapPage(pageOf(rows, page, url, this.cursors), toAdminPatientDto);
  }

  private pageRequest(user: AuthUser, query: ListPatientsDto, list: string): PageRequest {
    const ordering = parseOrdering(query.ordering, this.patients.sortFields, PATIENT_DEFAULT_ORDERING);
    return pageRequest(query, ordering, this.cursors, list, user);
  }

  async get(user: AuthUser, id: string): Promise<PatientDto> {
    return toPatientDto(await this.findVisible(user, id));
  }

  /** The patient if the caller may see it, else 404. Used by mappings too. */
  async findVisible(user: AuthUser, id: string): Promise<Patient> {
    const patient = await this.patients.findById(id, ownerScope(user));
    if (!patient) throw new NotFoundException('Patient not found.');
    return patient;
  }

  /**
   * PUT and PATCH: one UPDATE, scoped to the caller and checking `conditions`
   * (If-Match, If-None-Match) on the version in the same statement; 404 when
   * the patient is not the caller's, 412 when its version fails them.
   */
  async update(user: AuthUser, id: string, dto: UpdatePatientDto, conditions: Preconditions = {}): Promise<PatientDto> {
    const changes: PatientChanges = {};
    if (dto.name !== undefined) changes.name = dto.name;
    if (dto.age !== undefined) changes.age = dto.age;
    if (dto.gender !== undefined) changes.gender = dto.gender;
    if (dto.address !== undefined) changes.address = dto.address;

    const patient = await this.dataSource.transaction(async (m) => {
      // Locked first, so the history says exactly what this change replaced; the version is still checked by the UPDATE.
      const before = await this.patients.findForUpdate(id, ownerScope(user), m);
      if (!before) return null;
      const changed = await this.patients.update(id, changes, ownerScope(user), m, conditions);
      if (changed) {
        const entry = { version: changed.version, action: 'update' as const, changedById: user.id, changes: changesBetween(before, changed, PATIENT_FIELDS) };
        await this.history.record('patient', id, entry, m);
        await this.audit.record({ action: 'update', resourceType: 'patient', resourceId: id, patientId: id, status: 200 }, m);
      }
      return changed;
    });
    // After the transaction: on PGlite its one session is free again for the lookup.
    if (!patient) throw await this.refusal(user, id, conditions);
    return toPatientDto(patient);
  }

  /**
   * Marks the patient deleted (one UPDATE, checking `conditions` like a
   * change): from then on it answers 404 everywhere, with its doctor
   * assignments hidden, until it is restored or, after
   * DELETED_RETENTION_DAYS, purged.
   */
  async remove(user: AuthUser, id: string, conditions: Preconditions = {}): Promise<void> {
    const removed = await this.dataSource.transaction(async (m) => {
      const deleted = await this.patients.softDelete(id, user.id, ownerScope(user), m, conditions);
      if (deleted) {
        await this.history.record('patient', id, { version: deleted.version, action: 'delete', changedById: user.id, changes: {} }, m);
        await this.audit.record({ action: 'delete', resourceType: 'patient', resourceId: id, patientId: id, status: 204 }, m);
      }
      return deleted;
    });
    if (!removed) throw await this.refusal(user, id, conditions);
  }

  /**
   * Brings a deleted patient back, with its doctor assignments. An admin may
   * restore any deleted patient not yet purged; its owner, one they deleted
   * themselves, within DELETED_RETENTION_DAYS. Anything else is 404.
   */
  async restore(user: AuthUser, id: string): Promise<PatientDto> {
    const since = new Date(Date.now() - this.config.records.deletedRetentionDays * 86_400_000);
    const restored = await this.dataSource.transaction(async (m) => {
      const patient = await this.patients.restore(id, user.role === 'admin' ? undefined : { ownerId: user.id, since }, m);
      if (patient) {
        await this.history.record('patient', id, { version: patient.version, action: 'restore', changedById: user.id, changes: {} }, m);
        await this.audit.record({ action: 'restore', resourceType: 'patient', resourceId: id, patientId: id, status: 200 }, m);
      }
      return patient;
    });
    if (!restored) throw new NotFoundException('No deleted patient with this id can be restored.');
    return toPatientDto(restored);
  }

  /** The deleted patients, most recently deleted first, for the admins' Deleted list. */
  async listDeleted(user: AuthUser, query: PageQueryDto, url: URL): Promise<PageDto<Patient>> {
    const ordering = parseOrdering(undefined, this.patients.deletedSortFields, '-deleted_at');
    const page = pageRequest(query, ordering, this.cursors, 'patients-deleted', user);
    return pageOf(await this.patients.listDeletedPage({}, page), page, url, this.cursors);
  }

  /** Removes for good up to `limit` patients deleted before `before`, each with an audit event, in the caller's transaction; their ids. */
  async purgeDeleted(before: Date, limit: number, m: EntityManager): Promise<string[]> {
    const ids = await this.patients.purgeDeleted(before, limit, m);
    for (const id of ids) {
      await this.audit.record({ action: 'purge', resourceType: 'patient', resourceId: id, patientId: id, status: 200, reason: 'retention' }, m);
    }
    return ids;
  }

  /** Every version of a patient the caller may see, newest first (404 otherwise). */
  async historyOf(user: AuthUser, id: string, query: ListHistoryDto, url: URL): Promise<PageDto<HistoryEntryDto>> {
    await this.findVisible(user, id);
    return this.history.page('patient', id, user, query, url);
  }

  /** After a write matched nothing: 412 (with the version it is at) if the caller sees the patient and sent conditions, else 404. */
  private async refusal(user: AuthUser, id: string, conditions: Preconditions): Promise<Error> {
    const current = isConditional(conditions) ? await this.patients.findById(id, ownerScope(user)) : null;
    return current ? new PreconditionFailedException('patient', current.version) : new NotFoundException('Patient not found.');
  }
}

/** The fields a patient's history follows. */
const PATIENT_FIELDS = ['name', 'age', 'gender', 'address'] as const;

/** Whose patients the caller reaches: their own, or (an admin) everyone's. */
function ownerScope(user: AuthUser): string | undefined {
  return user.role === 'admin' ? undefined : user.id;
}

function filterOf(query: ListPatientsDto): PatientFilter {
  return {
    // An empty search is no search.
    search: query.search || undefined,
    gender: query.gender,
    minAge: query.min_age,
    maxAge: query.max_age,
  };
}
