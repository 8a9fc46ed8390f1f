import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';

/** Issue 10: dependencies point inward; auth depends on users, never the reverse; auth owns its decorators. */

const SRC = join(import.meta.dirname, '..', 'src');

/** The src/ folders each file under `folder` imports from (relative imports only). */
function importsOf(folder: string): Array<{ file: string; target: string }> {
  const found: Array<{ file: string; target: string }> = [];
  for (const entry of readdirSync(join(SRC, folder), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const path = join(entry.parentPath, entry.name);
    for (const [, spec] of readFileSync(path, 'utf8').matchAll(/from '(\.{1,2}\/[^']+)'/g)) {
      const target = join(entry.parentPath, spec).slice(SRC.length + 1).split('/')[0];
      found.push({ file: path.slice(SRC.length + 1), target });
    }
  }
  return found;
}

describe('Import boundaries', () => {
  it('users/ imports nothing from auth/ (no cycle between the two)', () => {
    expect(importsOf('users').filter((i) => i.target === 'auth')).toEqual([]);
  });

  // The cursor codec's key (common/pagination.module.ts -> auth/) is another item of issue 10.
  it('common/ imports nothing from users/ (the decorators that needed Role moved to auth/)', () => {
    expect(importsOf('common').filter((i) => i.target === 'users')).toEqual([]);
  });

  it('@Public, @Roles and @CurrentUser are declared in auth/', () => {
    const common = readFileSync(join(SRC, 'common', 'decorators.ts'), 'utf8');
    expect(common).not.toMatch(/export const (Public|Roles|CurrentUser)\b/);
    expect(readFileSync(join(SRC, 'auth', 'public.decorator.ts'), 'utf8')).toMatch(/export const Public\b/);
    expect(readFileSync(join(SRC, 'auth', 'roles.decorator.ts'), 'utf8')).toMatch(/export const Roles\b/);
    expect(readFileSync(join(SRC, 'auth', 'current-user.decorator.ts'), 'utf8')).toMatch(/export const CurrentUser\b/);
  });
});
