import { createHmac } from 'node:crypto';
import { Module } from '@nestjs/common';
import { AppConfig } from '../../config/app-config.js';
import { configuredSecret } from '../../config/dev-secret.js';
import { CursorCodec } from './cursor-codec.js';

/**
 * The cursor key, from configuration alone: derived from JWT_SECRET when it
 * is set (always in production, where every instance must open the others'
 * cursors; no second secret to manage), used for nothing else. In development
 * a key is generated once and kept beside the embedded database, so links
 * survive a restart; with an in-memory database it lives as long as the process.
 */
export function cursorKey(jwtSecret: string | undefined, pgliteDataDir: string): Buffer {
  const material = configuredSecret({ name: 'JWT_SECRET', value: jwtSecret, pgliteDataDir, file: 'cursor-secret', bytes: 32, announce: false });
  return createHmac('sha256', material).update('cursor-v2').digest();
}

/** The one CursorCodec of the app, for every module that serves lists. */
@Module({
  providers: [
    {
      provide: CursorCodec,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => new CursorCodec(cursorKey(config.auth.jwtSecret, config.database.pgliteDataDir)),
    },
  ],
  exports: [CursorCodec],
})
export class PaginationModule {}
