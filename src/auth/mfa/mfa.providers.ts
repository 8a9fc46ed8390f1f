import type { Provider } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { EnvironmentVariables } from '../../config/env.validation.js';
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
    inject: [ConfigService],
    useFactory: (config: ConfigService<EnvironmentVariables, true>) =>
      resolveMfaKeys({
        MFA_ENCRYPTION_KEY: config.get('MFA_ENCRYPTION_KEY', { infer: true }),
        PGLITE_DATA_DIR: config.getOrThrow('PGLITE_DATA_DIR', { infer: true }),
      }),
  },
  MfaRepository,
  MfaService,
];
