import { createHmac, type KeyObject } from 'node:crypto';
import { Module } from '@nestjs/common';
import { JWT_KEY } from '../auth/auth.constants.js';
import { AuthModule } from '../auth/auth.module.js';
import { CursorCodec } from './pagination.js';

/** The one CursorCodec of the app, for every module that serves lists. */
@Module({
  imports: [AuthModule],
  providers: [
    {
      provide: CursorCodec,
      inject: [JWT_KEY],
      // A key derived from the JWT key (no second secret to manage), used for nothing else.
      useFactory: (key: KeyObject) => new CursorCodec(createHmac('sha256', key.export()).update('cursor-v2').digest()),
    },
  ],
  exports: [CursorCodec],
})
export class PaginationModule {}
