import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { stopConnecting } from './database-startup.js';

/** Closing an app that is still waiting for its database ends the waiting (TypeORM only closes a connected DataSource). */
@Injectable()
export class DatabaseStartupShutdown implements OnApplicationShutdown {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async onApplicationShutdown(): Promise<void> {
    await stopConnecting(this.dataSource);
  }
}
