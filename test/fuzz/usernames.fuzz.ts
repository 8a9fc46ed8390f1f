import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { decodeJwt } from 'jose';
import { canonicalUsername } from '../../src/users/username.js';
import { createTestApp, type TestApp } from '../utils/app.js';
import { PASSWORD } from '../utils/factories.js';

/**
 * Issue 11, item 4, as a fuzz class: usernames that differ only by case
 * folding or Unicode compatibility (NFKC) are one account. For a generated
 * name and generated spellings of it (upper case, fullwidth and mathematical
 * letters, circled letters, U+0130 and the dotless i, the Kelvin sign, the
 * long s, ß for ss, the fi/ff/fl/st ligatures, decomposed accents,
 * superscript digits), every spelling logs in to the account; once the
 * account is locked by failures typed in any spelling, every spelling is
 * locked (429), the right password included; registering a spelling of it is
 * a 409 or a 400, never a second account. A name that is not a spelling of
 * it is not locked.
 *
 * FUZZ_REQUESTS sizes it as the main suite (accounts = FUZZ_REQUESTS / 50,
 * 8 to 100); FUZZ_SEED replays.
 */
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 10_000);
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
const ACCOUNTS = Math.min(100, Math.max(8, Math.round(REQUESTS / 50)));
const FAILURES = 3;

/** Pieces of a name, chosen to have many spellings. */
const PIECES = ['i', 'k', 's', 'ss', 'fi', 'ff', 'fl', 'st', 'a', 'e', 'é', 'o', 't', 'm', 'n', 'r', 'u', 'z', '1', '2', '7', '_'];

const code = (c: string) => c.codePointAt(0)!;
const shift = (c: string, from: string, to: number) => String.fromCodePoint(to + code(c) - code(from));

/** Spellings of one piece that must fold to it (besides itself). */
function spellings(piece: string): string[] {
  const out: string[] = [];
  if (/^[a-z]$/.test(piece)) {
    out.push(
      piece.toUpperCase(),
      shift(piece, 'a', 0xff41), // fullwidth
      shift(piece.toUpperCase(), 'A', 0xff21),
      shift(piece, 'a', 0x1d41a), // mathematical bold small
      shift(piece.toUpperCase(), 'A', 0x1d400), // mathematical bold capital
      shift(piece, 'a', 0x24d0), // circled small
    );
  }
  if (/^[0-9]$/.test(piece)) out.push(shift(piece, '0', 0xff10), shift(piece, '0', 0x1d7ce), ...(piece === '2' ? ['²', '₂'] : []));
  const special: Record<string, string[]> = {
    i: ['İ', 'ı'],
    k: ['\u212a'], // KELVIN SIGN
    s: ['ſ'], // LATIN SMALL LETTER LONG S
    ss: ['ß', 'ẞ', 'SS', 'ſs'],
    fi: ['ﬁ', 'FI'],
    ff: ['ﬀ'],
    fl: ['ﬂ'],
    st: ['ﬆ', 'ﬅ'],
    é: ['e\u0301', 'É', 'E\u0301'],
  };
  out.push(...(special[piece] ?? []));
  return out;
}

interface Named {
  pieces: string[];
  base: string;
}

const nameArb = (n: number): fc.Arbitrary<Named> =>
  fc.array(fc.constantFrom(...PIECES), { minLength: 3, maxLength: 8 }).map((pieces) => {
    // A tail of its own per account, so two generated names never collide.
    const all = [...pieces, 'q', ...String(n)];
    return { pieces: all, base: all.join('') };
  });

/** A spelling of a name: each piece kept or swapped for one of its spellings. */
const variantArb = (name: Named): fc.Arbitrary<string> =>
  fc.tuple(...name.pieces.map((p) => fc.constantFrom(p, p, ...spellings(p)))).map((ps) => ps.join(''));

describe('Hostile input: case-folding usernames (fuzz, issue 11 item 4)', () => {
  let t: TestApp;
  const figures = { accounts: 0, spellings: 0, lockedAttempts: 0, registerStatuses: new Map<number, number>(), logins: 0 };

  beforeAll(async () => {
    // The lockout on (LOGIN_FAILURE_LIMIT in a long window); the per-address limits stay lifted.
    t = await createTestApp({ LOGIN_FAILURE_LIMIT: String(FAILURES), LOGIN_FAILURE_WINDOW: '3600' });
  }, 60_000);

  afterAll(async () => {
    const statuses = [...figures.registerStatuses.entries()].map(([s, n]) => `${s} x${n}`).join(', ');
    process.stdout.write(
      `\n=== username fuzz figures\nseed ${SEED}; ${figures.accounts} accounts, ${figures.spellings} spellings tried; ` +
        `${figures.logins} logins with a spelling and the right password (200); ${figures.lockedAttempts} attempts on a locked account (429); ` +
        `registering a spelling: ${statuses}\n`,
    );
    await t?.close();
  });

  const login = (username: string, password: string) => t.http.post('/api/auth/login/', { username, password });

  it('the generated spellings fold to one canonical form (the generator agrees with src/users/username.ts)', () => {
    fc.assert(
      fc.property(
        fc.nat(1000).chain((n) => nameArb(n).chain((name) => variantArb(name).map((variant) => ({ name, variant })))),
        ({ name, variant }) => {
          expect(canonicalUsername(variant)).toBe(canonicalUsername(name.base));
        },
      ),
      { seed: SEED, numRuns: 2000 },
    );
  });

  it(`${ACCOUNTS} accounts: every spelling logs in, failures in any spelling lock every spelling, no spelling registers a second account`, async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constant(null).chain(() => {
          const name = nameArb(n++);
          return name.chain((named) =>
            fc.record({
              named: fc.constant(named),
              logins: fc.array(variantArb(named), { minLength: 1, maxLength: 2 }),
              failures: fc.array(variantArb(named), { minLength: FAILURES, maxLength: FAILURES }),
              locked: fc.array(variantArb(named), { minLength: 2, maxLength: 5 }),
              register: variantArb(named),
            }),
          );
        }),
        async ({ named, logins, failures, locked, register }) => {
          const { base } = named;
          const email = `${figures.accounts}-${Date.now().toString(36)}@example.org`;
          const created = await t.http.post('/api/auth/register/', { username: base, email, password: PASSWORD });
          expect({ base, status: created.status }).toEqual({ base, status: 201 });
          figures.accounts++;
          figures.spellings += logins.length + failures.length + locked.length + 1;

          // Before any failure: each spelling with the right password is this account.
          for (const spelling of logins) {
            const res = await login(spelling, PASSWORD);
            expect({ spelling, status: res.status }).toEqual({ spelling, status: 200 });
            expect(decodeJwt(res.body.access).sub).toBe(created.body.id);
            figures.logins++;
          }
          // Failures typed in different spellings count against the one account.
          for (const [i, spelling] of failures.entries()) {
            const res = await login(spelling, `Wrong-Password-${i}-Lantern`);
            expect({ spelling, status: res.status }).toEqual({ spelling, status: 401 });
          }
          // Locked: every spelling, and the name as registered, with the right password.
          for (const spelling of [...locked, base]) {
            const res = await login(spelling, PASSWORD);
            expect({ spelling, status: res.status }).toEqual({ spelling, status: 429 });
            figures.lockedAttempts++;
          }
          // No second account under a spelling of the name.
          const again = await t.http.post('/api/auth/register/', { username: register, email: `x${email}`, password: PASSWORD });
          figures.registerStatuses.set(again.status, (figures.registerStatuses.get(again.status) ?? 0) + 1);
          expect({ register, status: [400, 409].includes(again.status) }).toEqual({ register, status: true });
          // A name that is not a spelling of it is not locked (unknown: 401).
          const other = await login(`${base}w`, PASSWORD);
          expect(other.status).toBe(401);
        },
      ),
      { seed: SEED, numRuns: ACCOUNTS, endOnFailure: true },
    );
    const users = (await t.dataSource.query('SELECT count(*)::int AS n FROM users')) as { n: number }[];
    expect(users[0].n).toBe(figures.accounts);
  }, 600_000);
});
