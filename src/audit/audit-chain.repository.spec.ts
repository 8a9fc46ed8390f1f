import { describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { uuidArray } from './audit-chain.repository.js';

// The sealer and audit-verify read the id arrays as text and split them (uuidArray) instead of letting the
// driver parse them: a link's hash covers these arrays, so both readings must give exactly the same values,
// or chains sealed before the change would stop verifying.
const UUID_ARRAY_OID = 2951 as Parameters<typeof pg.types.getTypeParser>[0]; // uuid[]
const driverParse = pg.types.getTypeParser(UUID_ARRAY_OID, 'text') as (text: string) => unknown;

describe(uuidArray.name, () => {
  const a = '0b6f3c8e-2f1d-4c5e-9a7b-1d2e3f4a5b6c';
  const b = 'f0e1d2c3-b4a5-4697-8877-665544332211';

  it.each([['{}'], [`{${a}}`], [`{${a},${b}}`], [`{NULL,${a}}`], [`{${a},${b},${a}}`]])('reads %s as the driver does', (text) => {
    expect(uuidArray(text)).toEqual(driverParse(text));
  });

  it('keeps NULL as null', () => {
    expect(uuidArray(null)).toBeNull();
    expect(uuidArray(undefined)).toBeNull();
  });
});
