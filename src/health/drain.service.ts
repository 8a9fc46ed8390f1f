import { Injectable } from '@nestjs/common';

/**
 * Set when the process has been asked to stop: readiness answers 503 from
 * then on, so a load balancer stops sending new requests while the ones in
 * flight finish (see main.ts).
 */
@Injectable()
export class DrainService {
  private drainingSince: number | null = null;

  get draining(): boolean {
    return this.drainingSince !== null;
  }

  start(): void {
    this.drainingSince ??= Date.now();
  }
}
