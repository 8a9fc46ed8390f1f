import { Logger } from '@nestjs/common';

/**
 * Unit specs build services without Nest's testing module, so a warning they
 * provoke on purpose (a database that is "down", a store that is
 * "unavailable") went to Nest's coloured console logger and read like a
 * failure in a passing run. As Nest's own TestingLogger does for the e2e
 * specs: errors and fatal lines still print, the rest is dropped. A spec that
 * checks what is logged spies on Logger.prototype, which still sees every call.
 */
Logger.overrideLogger(['error', 'fatal']);
