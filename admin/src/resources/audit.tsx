import { useMediaQuery, type Theme } from '@mui/material';
import {
  AutocompleteInput,
  DataTable,
  DateField,
  Link,
  ReferenceField,
  ReferenceInput,
  SelectInput,
  SimpleList,
  TextInput,
} from 'react-admin';
import type { Schemas } from '../../../client/src/index.js';
import { PrivateList } from './private-list.js';

type AuditEvent = Schemas['AuditEventDto'] & { id: string };

// Keyed by the API's own enums (client/src/schema.ts): a value added to or removed from the API breaks the type check.
const ACTIONS = Object.keys({
  create: true,
  read: true,
  list: true,
  update: true,
  delete: true,
  login_succeeded: true,
  login_failed: true,
  token_refreshed: true,
  refresh_reuse_detected: true,
  logout: true,
  password_changed: true,
  access_denied: true,
  user_changed: true,
  audit_pruned: true,
  mfa_setup: true,
  mfa_confirmed: true,
  mfa_disabled: true,
  mfa_failed: true,
  mfa_recovery_used: true,
  history: true,
  restore: true,
  purge: true,
} satisfies Record<AuditEvent['action'], true>);
const RESOURCES = Object.keys({
  patient: true,
  mapping: true,
  doctor: true,
  user: true,
  audit_event: true,
} satisfies Record<NonNullable<AuditEvent['resource_type']>, true>);

const filters = [
  <SelectInput key="action" source="action" choices={ACTIONS.map((id) => ({ id, name: id }))} />,
  <SelectInput key="resource_type" source="resource_type" label="Record" choices={RESOURCES.map((id) => ({ id, name: id }))} />,
  <ReferenceInput key="actor" source="actor" reference="users" sort={{ field: 'username', order: 'ASC' }}>
    <AutocompleteInput label="Who" optionText="username" />
  </ReferenceInput>,
  <ReferenceInput key="patient" source="patient" reference="patients" sort={{ field: 'name', order: 'ASC' }}>
    <AutocompleteInput label="Patient" optionText="name" />
  </ReferenceInput>,
  <TextInput key="status" source="status" label="Status" />,
];

/** The console pages a record type has (users, patients, doctors); mappings and audit events have none. */
const SHOWN: Partial<Record<NonNullable<AuditEvent['resource_type']>, string>> = { patient: 'patients', doctor: 'doctors', user: 'users' };

/** The record an event names, linked to its page; a patient's or doctor's also to its History tab. */
function RecordLink({ event }: { event: AuditEvent }) {
  const page = event.resource_type ? SHOWN[event.resource_type] : undefined;
  if (!event.resource_id) return null;
  if (!page) return <>{event.resource_id}</>;
  return (
    <>
      <Link to={`/${page}/${event.resource_id}/show`}>{event.resource_id}</Link>
      {page !== 'users' && (
        <>
          {' '}
          (<Link to={`/${page}/${event.resource_id}/show/history`}>history</Link>)
        </>
      )}
    </>
  );
}

/** The audit trail, read-only, newest first: who touched which record, when, and how it ended. */
export function AuditList() {
  const small = useMediaQuery<Theme>((theme) => theme.breakpoints.down('sm'));
  return (
    <PrivateList filters={filters} exporter={false} sort={{ field: 'seq', order: 'DESC' }} title="Audit trail">
      {small ? (
        <SimpleList<AuditEvent>
          primaryText={(e) => `${e.action} ${e.resource_type ?? ''}`.trim()}
          secondaryText={(e) => `${e.status}${e.reason ? ` ${e.reason}` : ''}`}
          tertiaryText={(e) => new Date(e.at).toLocaleString()}
          linkType={false}
        />
      ) : (
        <DataTable bulkActionButtons={false} rowClick={false}>
          <DataTable.Col source="at" label="When" disableSort>
            <DateField source="at" showTime />
          </DataTable.Col>
          <DataTable.Col source="actor_id" label="Who" disableSort>
            <ReferenceField source="actor_id" reference="users" link="show" emptyText="(anonymous)" />
          </DataTable.Col>
          <DataTable.Col source="action" disableSort />
          <DataTable.Col source="resource_type" label="Record" disableSort />
          <DataTable.Col source="resource_id" label="Record id" disableSort render={(e: AuditEvent) => <RecordLink event={e} />} />
          <DataTable.Col source="status" disableSort />
          <DataTable.Col source="reason" disableSort />
          <DataTable.Col source="client_ip" label="From" disableSort />
        </DataTable>
      )}
    </PrivateList>
  );
}
