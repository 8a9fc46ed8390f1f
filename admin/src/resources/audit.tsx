import { useMediaQuery, type Theme } from '@mui/material';
import {
  AutocompleteInput,
  DataTable,
  DateField,
  List,
  ReferenceField,
  ReferenceInput,
  SelectInput,
  SimpleList,
  TextInput,
} from 'react-admin';
import type { Schemas } from '../../../client/src/index.js';

type AuditEvent = Schemas['AuditEventDto'] & { id: string };

const ACTIONS: AuditEvent['action'][] = [
  'create',
  'read',
  'list',
  'update',
  'delete',
  'login_succeeded',
  'login_failed',
  'token_refreshed',
  'refresh_reuse_detected',
  'logout',
  'password_changed',
  'access_denied',
  'user_changed',
  'audit_pruned',
];
const RESOURCES: NonNullable<AuditEvent['resource_type']>[] = ['patient', 'mapping', 'doctor', 'user', 'audit_event'];

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

/** The audit trail, read-only, newest first: who touched which record, when, and how it ended. */
export function AuditList() {
  const small = useMediaQuery<Theme>((theme) => theme.breakpoints.down('sm'));
  return (
    <List filters={filters} exporter={false} sort={{ field: 'seq', order: 'DESC' }} title="Audit trail">
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
          <DataTable.Col source="resource_id" label="Record id" disableSort />
          <DataTable.Col source="status" disableSort />
          <DataTable.Col source="reason" disableSort />
          <DataTable.Col source="client_ip" label="From" disableSort />
        </DataTable>
      )}
    </List>
  );
}
