import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { CursorCodec } from './cursor-codec.js';

/**
 * The cursor key, from configuration alone: derived from JWT_SECRET when it
 * is set (always in production, where every instance must open the others'
 * cursors; no second secret to manage), used for nothing else. In development
 * a key is generated once and kept beside the embedded database, so links
 * survive a restart; with an in-memory database it lives as long as the process.
 */
export function cursorKey(jwtSecret: string | undefined, pgliteDataDir: string): Buffer {
  const derive = (secret: Buffer) => createHmac('sha256', secret).update('cursor-v2').digest();
  if (jwtSecret) return derive(Buffer.from(jwtSecret, 'utf8'));
  if (pgliteDataDir.startsWith('memory://')) return randomBytes(32);
  const file = join(dirname(pgliteDataDir), 'cursor-secret');
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600 });
  }
  return derive(Buffer.from(readFileSync(file, 'utf8').trim(), 'utf8'));
}

/** The one CursorCodec of the app, for every module that serves lists. */
@Module({
  providers: [
    {
      provide: CursorCodec,
      inject: [ConfigService],
      useFactory: (config: ConfigService) =>
        new CursorCodec(cursorKey(config.get<string>('JWT_SECRET'), config.getOrThrow<string>('PGLITE_DATA_DIR'))),
    },
  ],
  exports: [CursorCodec],
})
export class PaginationModule {}
