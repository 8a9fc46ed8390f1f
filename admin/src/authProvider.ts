import type { AuthProvider } from 'react-admin';
import type { Schemas, TokenSession } from '../../client/src/index.js';

export const ADMIN_ONLY = 'This console is for administrators only.';

/**
 * react-admin's login over the client's TokenSession: the tokens stay in
 * memory (a reload asks to sign in again) and a 401 is refreshed and retried
 * by the session itself. Only an admin gets in: anyone else is signed out at
 * once with a message the login page shows.
 */
export function createAuthProvider(session: TokenSession): AuthProvider {
  let me: Schemas['MeDto'] | null = null;

  return {
    async login({ username, password }: { username: string; password: string }) {
      const result = await session.login(username, password);
      if (!result.ok) throw new Error(result.problem.detail || result.problem.title);
      const { data } = await session.client.GET('/api/auth/me');
      if (data?.role !== 'admin') {
        await session.logout();
        throw new Error(ADMIN_ONLY);
      }
      me = data;
    },
    async logout() {
      me = null;
      await session.logout();
    },
    async checkAuth() {
      if (!session.loggedIn || !me) throw new Error('Please sign in.');
    },
    // A 401 here means the session could not be refreshed; a 403 that the account is no longer an admin.
    async checkError(error: { status?: number }) {
      if (error?.status === 401) throw new Error('Your session has ended: please sign in again.');
      if (error?.status === 403) throw new Error(ADMIN_ONLY);
    },
    async getIdentity() {
      if (!me) throw new Error('Please sign in.');
      return { id: me.id, fullName: me.username };
    },
  };
}
