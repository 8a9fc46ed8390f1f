import { Global, Module } from '@nestjs/common';
import { PreparedSql } from './prepared-sql.js';

/** Database helpers every module may use (TypeORM itself is set up in AppModule). */
@Global()
@Module({
  providers: [PreparedSql],
  exports: [PreparedSql],
})
export class DatabaseModule {}
