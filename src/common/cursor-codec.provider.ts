import { createHmac, type KeyObject } from 'node:crypto';
import type { Provider } from '@nestjs/common';
import { JWT_KEY } from '../auth/auth.constants.js';
import { CursorCodec } from './pagination.js';

/** Cursors are signed with a key derived from the JWT key, so no second secret is needed. */
export const cursorCodecProvider: Provider = {
  provide: CursorCodec,
  inject: [JWT_KEY],
  useFactory: (key: KeyObject) => new CursorCodec(createHmac('sha256', key.export()).update('cursor-v1').digest()),
};
