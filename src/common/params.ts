import { HttpStatus, ParseUUIDPipe } from '@nestjs/common';

/** A path id that is not a UUID cannot name a record: 404, as for any missing one. */
export const UuidParam = new ParseUUIDPipe({ errorHttpStatusCode: HttpStatus.NOT_FOUND });
