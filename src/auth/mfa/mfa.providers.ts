import type { Provider } from '@nestjs/common';
import { AppConfig } from '../../config/app-config.js';
import { MFA_KEYS, resolveMfaKeys } from './mfa-key.js';
import { MfaRepository } from './mfa.repository.js';
import { MfaService } from './mfa.service.js';

/**
 * The second factor's providers, registered in AuthModule (they share its
 * PasswordHasher, whose concurrency gate must stay one per process).
 */
export const MFA_PROVIDERS: Provider[] = [
  {
    provide: MFA_KEYS,
    inject: [AppConfig],
    useFactory: (config: AppConfig) =>
      resolveMfaKeys({ MFA_ENCRYPTION_KEY: config.auth.mfaEncryptionKey, PGLITE_DATA_DIR: config.database.pgliteDataDir }),
  },
  MfaRepository,
  MfaService,
];
