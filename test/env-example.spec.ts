import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { ENV_VARIABLE_NAMES, EnvironmentVariables, validateEnv } from '../src/config/env.validation.js';

function parseExample(): Map<string, string> {
  const vars = new Map<string, string>();
  for (const line of readFileSync('.env.example', 'utf8').split('\n')) {
    const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (match) vars.set(match[1], match[2]);
  }
  return vars;
}

describe('.env.example', () => {
  it('lists exactly the variables the app reads', () => {
    expect([...parseExample().keys()].sort()).toEqual([...ENV_VARIABLE_NAMES].sort());
  });

  it('shows each default the app applies', () => {
    const defaults = new EnvironmentVariables() as unknown as Record<string, unknown>;
    for (const [name, shown] of parseExample()) {
      const value = defaults[name];
      if (value === undefined) expect(shown).toBe('');
      else expect(shown).toBe(Array.isArray(value) ? value.join(',') : String(value));
    }
  });

  it('is itself a valid configuration', () => {
    expect(() => validateEnv(Object.fromEntries(parseExample()))).not.toThrow();
  });
});
