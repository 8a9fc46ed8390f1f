// The old import path of pagination/: new code imports from the part it needs.
export * from './pagination/cursor-codec.js';
export * from './pagination/keyset-query.js';
export * from './pagination/page.dto.js';
export * from './pagination/page-query.dto.js';
export * from './pagination/pagination.module.js';
