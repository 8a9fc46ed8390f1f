import { PageQueryDto } from '../../common/pagination/page-query.dto.js';
import type { Mapping } from '../mapping.entity.js';

/** Mappings come newest first, the one ordering, declared once: wire name -> entity property. */
export const MAPPING_SORTS = { created_at: 'createdAt' } satisfies Record<string, keyof Mapping>;
export const MAPPING_ORDERING = '-created_at';

/** Mappings come newest first; only the page size and cursor are chosen. */
export class ListMappingsDto extends PageQueryDto {}
