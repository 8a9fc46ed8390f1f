import { type RaRecord, useNotify, useRedirect, useResourceContext } from 'react-admin';

/**
 * What a save or a delete says when it succeeds: what happened to which
 * record ("Patient Ada Lovelace updated"), not react-admin's "Element
 * updated"; then where it goes, as `redirect` would have.
 */
export function useSaved(message: (record: RaRecord) => string, next: 'show' | 'list') {
  const notify = useNotify();
  const redirect = useRedirect();
  const resource = useResourceContext();
  return {
    onSuccess: (record: RaRecord) => {
      notify(message(record), { type: 'success' });
      redirect(next, resource, record.id, record);
    },
  };
}
