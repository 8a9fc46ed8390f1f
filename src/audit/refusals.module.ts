import { Global, Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { REFUSAL_RECORDER } from '../common/refusal.js';
import { AuditWitness } from './audit-witness.js';
import { insertInto, RefusalWriter } from './refusal-writer.js';

/** Where the exception filter sends refusals: the bounded, batched RefusalWriter (its numbers watched by AuditWitness). */
@Global()
@Module({
  providers: [
    {
      provide: RefusalWriter,
      inject: [DataSource, AuditWitness],
      useFactory: (dataSource: DataSource, witness: AuditWitness) => new RefusalWriter(insertInto(dataSource, witness)),
    },
    { provide: REFUSAL_RECORDER, useExisting: RefusalWriter },
  ],
  exports: [RefusalWriter, REFUSAL_RECORDER],
})
export class RefusalsModule {}
