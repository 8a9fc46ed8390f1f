import { describe, expect, it } from '@jest/globals';
import { changesBetween } from './history.js';

describe(changesBetween.name, () => {
  const fields = ['name', 'age', 'address'] as const;

  it('a create lists every field, from null', () => {
    expect(changesBetween(null, { name: 'Ada', age: 36, address: '' }, fields)).toEqual({
      name: { from: null, to: 'Ada' },
      age: { from: null, to: 36 },
      address: { from: null, to: '' },
    });
  });

  it('a change lists only the fields whose values differ, and only the fields followed', () => {
    const before = { name: 'Ada', age: 36, address: '', secret: 'x' };
    expect(changesBetween(before, { ...before, age: 37, secret: 'y' }, fields)).toEqual({ age: { from: 36, to: 37 } });
    expect(changesBetween(before, { ...before }, fields)).toEqual({});
    expect(changesBetween(before, { ...before, address: 'Ockham Park' }, fields)).toEqual({ address: { from: '', to: 'Ockham Park' } });
  });
});
