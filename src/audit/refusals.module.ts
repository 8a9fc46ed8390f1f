import { Global, Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { REFUSAL_RECORDER } from '../common/refusal.js';
import { insertInto, RefusalWriter } from './refusal-writer.js';

/** Where the exception filter sends refusals: the bounded, batched RefusalWriter. */
@Global()
@Module({
  providers: [
    { provide: RefusalWriter, inject: [DataSource], useFactory: (dataSource: DataSource) => new RefusalWriter(insertInto(dataSource)) },
    { provide: REFUSAL_RECORDER, useExisting: RefusalWriter },
  ],
  exports: [RefusalWriter, REFUSAL_RECORDER],
})
export class RefusalsModule {}
