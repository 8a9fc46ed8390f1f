import type { AuthProvider } from 'react-admin';
import { isProblem, type Problem, type Schemas, type TokenSession } from '../../client/src/index.js';

export const ADMIN_ONLY = 'This console is for administrators only.';
const MFA_NOW_REQUIRED = 'Administrators must use two-factor authentication: sign in again to set it up.';
/** Added to the API's one 401 for every bad login: a missing code is refused exactly like a wrong password. */
export const CODE_HINT = 'If two-factor authentication is on for this account, enter the code from your app as well.';

/**
 * Thrown by `login` when the password was right but the account is an admin
 * who must set up a second factor first (ADMIN_MFA_REQUIRED): the session is
 * open, but the API lets it reach only the MFA setup routes. The login page
 * then walks through {@link ConsoleAuthProvider.startMfaSetup} and
 * {@link ConsoleAuthProvider.confirmMfa}, and calls `login({ afterMfaSetup: true })`.
 */
export class MfaSetupRequired extends Error {
  constructor() {
    super('Administrators must set up two-factor authentication.');
    this.name = 'MfaSetupRequired';
  }
}

/** A problem as the login page shows it: the API's detail, and each field's messages by wire name. */
export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail || problem.title);
    this.name = 'ApiError';
  }

  /** The messages for one field (a 400's `errors`), or the detail. */
  messageFor(field: string): string {
    return this.problem.errors?.[field]?.join(' ') || this.message;
  }
}

export type LoginParams = { username: string; password: string; otp?: string } | { afterMfaSetup: true };

export interface ConsoleAuthProvider extends AuthProvider {
  login(params: LoginParams): Promise<void>;
  /** A new secret and its otpauth URI (setting up again replaces a pending one). */
  startMfaSetup(): Promise<Schemas['MfaSetupDto']>;
  /** Turns the factor on with a code from the app; the ten recovery codes, shown once. */
  confirmMfa(code: string): Promise<string[]>;
}

async function answer<T>(pending: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await pending;
  if (response.ok) return data as T;
  throw new ApiError(
    isProblem(error)
      ? error
      : { type: 'about:blank', title: 'Error', status: response.status, detail: `The server answered ${response.status}.` },
  );
}

/**
 * react-admin's login over the client's TokenSession: the tokens stay in
 * memory (a reload asks to sign in again) and a 401 is refreshed and retried
 * by the session itself. Only an admin gets in: anyone else is signed out at
 * once with a message the login page shows. An admin who must set up a
 * second factor gets in only after confirming one.
 */
export function createAuthProvider(session: TokenSession): ConsoleAuthProvider {
  let me: Schemas['MeDto'] | null = null;
  /** Signed in with a password, a second factor still to set up: only the MFA routes answer. */
  let settingUp = false;

  /** The signed-in account, admitted if it is an admin. */
  async function admit(): Promise<void> {
    settingUp = false;
    const { data } = await session.client.GET('/api/auth/me');
    if (data?.role !== 'admin') {
      await session.logout();
      throw new Error(ADMIN_ONLY);
    }
    me = data;
  }

  return {
    async login(params: LoginParams) {
      if ('afterMfaSetup' in params) {
        if (!settingUp || !session.loggedIn) throw new Error('Please sign in.');
        return admit();
      }
      const { username, password, otp } = params;
      me = null;
      const result = await session.login(username, password, otp?.trim() || undefined);
      if (!result.ok) {
        const { problem } = result;
        const message = problem.detail || problem.title;
        throw new Error(problem.status === 401 && !otp?.trim() ? `${message} ${CODE_HINT}` : message);
      }
      // Asked before /me, which an admin without a required factor may not read yet (403).
      const status = await answer(session.client.GET('/api/auth/mfa'));
      if (status.required && !status.enabled) {
        settingUp = true;
        throw new MfaSetupRequired();
      }
      return admit();
    },
    startMfaSetup: () => answer(session.client.POST('/api/auth/mfa/setup')),
    async confirmMfa(code: string) {
      const { recovery_codes } = await answer(session.client.POST('/api/auth/mfa/confirm', { body: { code: code.trim() } }));
      return recovery_codes;
    },
    async logout() {
      me = null;
      settingUp = false;
      await session.logout();
    },
    async checkAuth() {
      if (!session.loggedIn || !me) throw new Error('Please sign in.');
    },
    // A 401 here means the session could not be refreshed; a 403 that the account is no longer an admin,
    // or that it must now set up a second factor (ADMIN_MFA_REQUIRED turned on, or the factor disabled elsewhere).
    async checkError(error: { status?: number }) {
      if (error?.status === 401) throw new Error('Your session has ended: please sign in again.');
      if (error?.status === 403) {
        const { data: status } = await session.client.GET('/api/auth/mfa').catch(() => ({ data: undefined }));
        throw new Error(status?.required && !status.enabled ? MFA_NOW_REQUIRED : ADMIN_ONLY);
      }
    },
    async getIdentity() {
      if (!me) throw new Error('Please sign in.');
      return { id: me.id, fullName: me.username };
    },
  };
}
