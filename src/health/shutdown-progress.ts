import type { Server } from 'node:http';
import { Injectable, type BeforeApplicationShutdown, type OnApplicationShutdown, type OnModuleDestroy } from '@nestjs/common';
import { type ConnectionCounts, connectionCounts } from '../http/connections.js';

/** What a stop that overran its deadline was still waiting for: logged once, then the process exits 1. */
export interface ShutdownReport {
  /** The last phase of Nest's close that began (each phase starts when the one before has finished). */
  phase: string;
  msInPhase: number;
  /** Open HTTP connections: with a request in progress (a response not finished) and without. */
  httpConnections: ConnectionCounts | null;
  /** Node's own list of what keeps the event loop alive, counted by kind (sockets, the database's among them; timers). */
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
    const httpConnections = connectionCounts(server);
    return { phase: this.phase, msInPhase: Date.now() - this.since, httpConnections, activeResources };
  }
}
