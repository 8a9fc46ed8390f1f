import { PageQueryDto } from '../../common/pagination.js';

/** Mappings come newest first; only the page size and cursor are chosen. */
export class ListMappingsDto extends PageQueryDto {}
