import { type DynamicModule, Global, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { AppConfig } from './app-config.js';

/**
 * Provides the validated configuration to every module: `AppConfig` (inject
 * it by type), and Nest's ConfigService answering from the same object's
 * variables, never from process.env.
 */
@Global()
@Module({})
export class AppConfigModule {
  static forRoot(config: AppConfig): DynamicModule {
    const configService = new ConfigService({ ...config.variables });
    // A variable this object does not set (an optional one left empty) is unset: not looked up in process.env.
    (configService as unknown as { skipProcessEnv: boolean }).skipProcessEnv = true;
    return {
      module: AppConfigModule,
      providers: [
        { provide: AppConfig, useValue: config },
        { provide: ConfigService, useValue: configService },
      ],
      exports: [AppConfig, ConfigService],
    };
  }
}
