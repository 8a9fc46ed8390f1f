import { Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '../config/app-config.js';
import { UsersModule } from '../users/users.module.js';
import { JWT_KEY } from './auth.constants.js';
import { AuthController } from './auth.controller.js';
import { AuthService } from './auth.service.js';
import { resolveJwtKey } from './jwt-secret.js';
import { MeController } from './me.controller.js';
import { MfaRecoveryCode } from './mfa/mfa-recovery-code.entity.js';
import { MfaFactor } from './mfa/mfa-factor.entity.js';
import { MfaController } from './mfa/mfa.controller.js';
import { MFA_PROVIDERS } from './mfa/mfa.providers.js';
import { MfaService } from './mfa/mfa.service.js';
import { PasswordHasher } from './password-hasher.js';
import { Session } from './session.entity.js';
import { SessionsRepository } from './sessions.repository.js';
import { SessionRevocations } from './session-revocations.js';
import { SessionsService } from './sessions.service.js';
import { TokensService } from './tokens.service.js';

@Module({
  imports: [UsersModule, JwtModule.register({}), TypeOrmModule.forFeature([Session, MfaFactor, MfaRecoveryCode])],
  controllers: [AuthController, MeController, MfaController],
  providers: [
    {
      provide: JWT_KEY,
      inject: [AppConfig],
      useFactory: (config: AppConfig) =>
        resolveJwtKey({ JWT_SECRET: config.auth.jwtSecret, PGLITE_DATA_DIR: config.database.pgliteDataDir }),
    },
    AuthService,
    SessionsRepository,
    SessionsService,
    SessionRevocations,
    TokensService,
    PasswordHasher,
    ...MFA_PROVIDERS,
  ],
  exports: [JWT_KEY, SessionsService, TokensService, PasswordHasher, MfaService],
})
export class AuthModule {}
