import { describe, expect, it } from '@jest/globals';
import { formatLsn, parseLsn } from './lsn.js';

describe('WAL positions', () => {
  it('orders positions as PostgreSQL does (the high part first) and prints them back in its notation', () => {
    expect(parseLsn('0/3000148')).toBe(0x3000148n);
    expect(parseLsn('16/B374D848')! > parseLsn('15/FFFFFFFF')!).toBe(true);
    expect(parseLsn('0/A')! < parseLsn('0/10')!).toBe(true);
    expect(formatLsn(parseLsn('16/b374d848')!)).toBe('16/B374D848');
    expect(formatLsn(parseLsn('FFFFFFFF/FFFFFFFF')!)).toBe('FFFFFFFF/FFFFFFFF');
  });

  it.each(['', '0', '0/', '/0', '1/2/3', 'G/0', '123456789/0', ' 0/1', '0/1 ', '-1/0'])('%j is not a position', (text) => {
    expect(parseLsn(text)).toBeUndefined();
  });
});
