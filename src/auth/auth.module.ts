import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { JwtModule } from '@nestjs/jwt';
import { PassportModule } from '@nestjs/passport';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { EnvironmentVariables } from '../config/env.validation.js';
import { UsersModule } from '../users/users.module.js';
import { JWT_KEY } from './auth.constants.js';
import { AuthController } from './auth.controller.js';
import { AuthService } from './auth.service.js';
import { resolveJwtKey } from './jwt-secret.js';
import { JwtStrategy } from './jwt.strategy.js';
import { MeController } from './me.controller.js';
import { PasswordHasher } from './password-hasher.js';
import { Session } from './session.entity.js';
import { SessionsService } from './sessions.service.js';
import { TokensService } from './tokens.service.js';

@Module({
  imports: [UsersModule, PassportModule, JwtModule.register({}), TypeOrmModule.forFeature([Session])],
  controllers: [AuthController, MeController],
  providers: [
    {
      provide: JWT_KEY,
      inject: [ConfigService],
      useFactory: (config: ConfigService<EnvironmentVariables, true>) =>
        resolveJwtKey({
          JWT_SECRET: config.get('JWT_SECRET', { infer: true }),
          PGLITE_DATA_DIR: config.getOrThrow('PGLITE_DATA_DIR', { infer: true }),
        }),
    },
    AuthService,
    SessionsService,
    TokensService,
    PasswordHasher,
    JwtStrategy,
  ],
  exports: [JWT_KEY, SessionsService, PasswordHasher],
})
export class AuthModule {}
