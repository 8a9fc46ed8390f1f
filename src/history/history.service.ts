import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { CursorCodec } from '../common/pagination/cursor-codec.js';
import { type PageCaller, pageRequest } from '../common/pagination/keyset-query.js';
import { mapPage, type PageDto, pageOf } from '../common/pagination/page.dto.js';
import { type HistoryEntryDto, type ListHistoryDto, toHistoryEntryDto } from './history.dto.js';
import { type HistoryEntry, type HistoryKind, HistoryRepository, type NewHistoryEntry } from './history.repository.js';

/**
 * Records' histories: each change's entry, written in the change's own
 * transaction, and the pages a client reads, newest first. Whether the
 * caller may see the record is its own service's rule, checked before.
 */
@Injectable()
export class HistoryService {
  constructor(
    private readonly history: HistoryRepository,
    private readonly cursors: CursorCodec,
  ) {}

  record(kind: HistoryKind, recordId: string, entry: NewHistoryEntry, manager: EntityManager): Promise<void> {
    return this.history.insert(kind, recordId, entry, manager);
  }

  async page(kind: HistoryKind, recordId: string, caller: PageCaller, query: ListHistoryDto, url: URL): Promise<PageDto<HistoryEntryDto>> {
    const ordering = { key: '-version', field: this.history.versionField, descending: true };
    // A cursor works on this record's history only, for this caller.
    const page = pageRequest(query, ordering, this.cursors, `${kind}-history:${recordId}`, caller);
    const rows = await this.history.listPage(kind, recordId, page);
    // Who changed a record is an admin's to see; anyone else sees only their own changes named (a doctor's
    // representation never shows who added it, and its history must not either).
    const shown = (entry: HistoryEntry) =>
      caller.role === 'admin' || entry.changedById === caller.id ? entry : { ...entry, changedById: null };
    return mapPage(pageOf(rows, page, url, this.cursors), (entry) => toHistoryEntryDto(shown(entry)));
  }
}
