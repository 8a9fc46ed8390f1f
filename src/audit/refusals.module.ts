import { Global, Module } from '@nestjs/common';
import { REFUSAL_RECORDER } from '../common/refusal.js';
import { AuditWitness } from './audit-witness.js';
import { AuditEventsRepository } from './audit-events.repository.js';
import { RefusalWriter } from './refusal-writer.js';

/** Where the exception filter sends refusals: the bounded, batched RefusalWriter (its numbers watched by AuditWitness). */
@Global()
@Module({
  providers: [
    {
      provide: RefusalWriter,
      inject: [AuditEventsRepository, AuditWitness],
      useFactory: (events: AuditEventsRepository, witness: AuditWitness) =>
        new RefusalWriter((rows) => events.insertRefusals(rows, (seq, manager) => witness.written(seq, manager))),
    },
    { provide: REFUSAL_RECORDER, useExisting: RefusalWriter },
  ],
  exports: [RefusalWriter, REFUSAL_RECORDER],
})
export class RefusalsModule {}
