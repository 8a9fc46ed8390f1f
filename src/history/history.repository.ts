import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import type { PageRequest, SortField } from '../common/pagination/keyset-query.js';
import { PreparedSql } from '../database/prepared-sql.js';
import { type ListQuery, TableQueries } from '../database/table-queries.js';
import { DoctorHistory, type FieldChange, type HistoryAction, PatientHistory } from './history.entity.js';

export type HistoryKind = 'patient' | 'doctor';

/** One version's entry, as the service writes it. */
export interface NewHistoryEntry {
  version: number;
  action: HistoryAction;
  changedById: string | null;
  changes: Record<string, FieldChange>;
}

/** What every entry reads as, whichever record it belongs to. */
export type HistoryEntry = NewHistoryEntry & { changedAt: Date };

interface RecordFilter {
  recordId?: string;
}

/**
 * Every query on `patient_history` and `doctor_history`. Entries are only
 * ever inserted, by the transaction of the change they describe (`insert`,
 * a write), and read a page at a time, newest first (`listPage`, a read that
 * may later go to a replica). The rows go with their record (ON DELETE CASCADE).
 */
@Injectable()
export class HistoryRepository {
  private readonly tables: { patient: TableQueries<PatientHistory>; doctor: TableQueries<DoctorHistory> };
  private readonly lists: { patient: ListQuery<PatientHistory, RecordFilter>; doctor: ListQuery<DoctorHistory, RecordFilter> };

  constructor(@InjectDataSource() dataSource: DataSource, sql: PreparedSql) {
    this.tables = { patient: new TableQueries(dataSource, sql, PatientHistory), doctor: new TableQueries(dataSource, sql, DoctorHistory) };
    this.lists = {
      patient: {
        name: 'patient-history',
        alias: 'h',
        conditions: { recordId: 'h.patient_id = :recordId' },
        select: (qb) => qb.select(this.tables.patient.rows.selectList('h')),
      },
      doctor: {
        name: 'doctor-history',
        alias: 'h',
        conditions: { recordId: 'h.doctor_id = :recordId' },
        select: (qb) => qb.select(this.tables.doctor.rows.selectList('h')),
      },
    };
  }

  /** A history is ordered by version alone (unique within its record): newest first. */
  get versionField(): SortField {
    return { column: 'version', property: 'version', kind: 'number', unique: true };
  }

  /** Writes one entry in the caller's transaction (the change's own). */
  async insert(kind: HistoryKind, recordId: string, entry: NewHistoryEntry, manager: EntityManager): Promise<void> {
    await manager.query(
      `INSERT INTO ${kind}_history (${kind}_id, version, action, changed_by, changes) VALUES ($1, $2, $3, $4, $5::jsonb)`,
      [recordId, entry.version, entry.action, entry.changedById, JSON.stringify(entry.changes)],
    );
  }

  /** One keyset page of a record's entries (up to pageSize + 1, in SQL order: see pageOf). */
  async listPage(kind: HistoryKind, recordId: string, page: PageRequest): Promise<HistoryEntry[]> {
    const table = this.tables[kind] as TableQueries<PatientHistory | DoctorHistory>;
    const list = this.lists[kind] as ListQuery<PatientHistory | DoctorHistory, RecordFilter>;
    const rows = await table.listPageRows(list, { recordId }, page, false);
    return rows.map((row) => table.rows.fromRow(row));
  }
}
