import type { Server } from 'node:http';
import { Injectable, type BeforeApplicationShutdown, type OnApplicationShutdown, type OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { type ConnectionCounts, connectionCounts } from '../http/connections.js';

/** The counters node-postgres' pool keeps (PGlite's single-session pool has none). */
interface PoolCounters {
  totalCount?: number;
  idleCount?: number;
  waitingCount?: number;
}

/** What a stop that overran its deadline was still waiting for: logged once, then the process exits 1. */
export interface ShutdownReport {
  /** The last phase of Nest's close that began (each phase starts when the one before has finished). */
  phase: string;
  msInPhase: number;
  /** Open HTTP connections: with a request in progress (a response not finished) and without. */
  httpConnections: ConnectionCounts | null;
  /** The database pool: connections checked out (not idle) are what `pool.end()` waits for. */
  pool: { total: number; idle: number; waiting: number } | null;
  /** Node's own list of what keeps the event loop alive, counted by kind (sockets, timers). */
  activeResources: Record<string, number>;
}

/**
 * Records how far a stop has got (Nest closes in phases: module-destroy
 * hooks, before-shutdown hooks, the HTTP server, shutdown hooks), so a stop
 * that never finishes says where it stopped instead of hanging silently.
 * main.ts asks for report() when SHUTDOWN_TIMEOUT_SECONDS have passed.
 */
@Injectable()
export class ShutdownProgress implements OnModuleDestroy, BeforeApplicationShutdown, OnApplicationShutdown {
  private phase = 'draining';
  private since = Date.now();

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  onModuleDestroy(): void {
    this.enter('module-destroy hooks (timers, Redis)');
  }

  beforeApplicationShutdown(): void {
    this.enter('before-shutdown hooks (refusal writer flush), then closing the HTTP server');
  }

  onApplicationShutdown(): void {
    this.enter('shutdown hooks (audit sealer, database pool)');
  }

  private enter(phase: string): void {
    this.phase = phase;
    this.since = Date.now();
  }

  report(server: Server | undefined): ShutdownReport {
    const activeResources: Record<string, number> = {};
    for (const kind of process.getActiveResourcesInfo()) activeResources[kind] = (activeResources[kind] ?? 0) + 1;
    // Read-only counters of TypeORM's pg pool (public fields of node-postgres' Pool): nothing here queries it.
    const counters = (this.dataSource.driver as unknown as { master?: PoolCounters }).master;
    const pool =
      counters && typeof counters.totalCount === 'number'
        ? { total: counters.totalCount, idle: counters.idleCount ?? 0, waiting: counters.waitingCount ?? 0 }
        : null;
    const httpConnections = connectionCounts(server);
    return { phase: this.phase, msInPhase: Date.now() - this.since, httpConnections, pool, activeResources };
  }
}
