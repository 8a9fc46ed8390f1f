import { List, useResourceContext, type ListProps } from 'react-admin';

/**
 * react-admin's List with its parameters (filters, sort, page) kept out of the
 * URL (issue 11, item 14). By default a List writes them into the address,
 * `#/patients?filter={"search":"grace"}`, so a patient's name typed into a
 * search would land in the browser's history and in any screenshot of the
 * address bar. Here they live in the Admin's memory store under the list's
 * own key instead: a list still shows the filters it had when one comes back
 * to it from a record, until the page is reloaded (which signs out anyway),
 * and a link that carries filters in its URL is ignored.
 */
export function PrivateList(props: ListProps) {
  const resource = useResourceContext(props);
  return <List disableSyncWithLocation storeKey={`${resource}.listParams`} {...props} />;
}
