import { DataTable, DateField, FunctionField, Pagination, ReferenceField, ReferenceManyField, TextField } from 'react-admin';
import type { Schemas } from '../../../client/src/index.js';

type Entry = Schemas['HistoryEntryDto'];

const show = (value: unknown) => (value === null || value === undefined || value === '' ? '—' : String(value));

/** "age: 36 → 37; address: — → Ockham Park", a create's fields as "name: Ada". */
export function describeChanges(entry: Pick<Entry, 'action' | 'changes'>): string {
  const fields = Object.entries(entry.changes as Record<string, { from: unknown; to: unknown }>);
  if (fields.length === 0) return 'no field changed';
  return fields
    .map(([field, { from, to }]) => (entry.action === 'create' ? `${field}: ${show(to)}` : `${field}: ${show(from)} → ${show(to)}`))
    .join('; ');
}

/** A record's every version, newest first, as the API's history route pages it (`reference`: patient-history or doctor-history). */
export function RecordHistory({ reference }: { reference: 'patient-history' | 'doctor-history' }) {
  return (
    <ReferenceManyField label={false} reference={reference} target="record" perPage={20} pagination={<Pagination rowsPerPageOptions={[20]} />}>
      <DataTable bulkActionButtons={false} rowClick={false}>
        <DataTable.Col source="version" disableSort />
        <DataTable.Col source="action" disableSort />
        <DataTable.Col source="changed_at" label="When" disableSort>
          <DateField source="changed_at" showTime />
        </DataTable.Col>
        <DataTable.Col source="changed_by" label="By" disableSort>
          <ReferenceField source="changed_by" reference="users" link="show" emptyText="—">
            <TextField source="username" />
          </ReferenceField>
        </DataTable.Col>
        <DataTable.Col label="Changes" disableSort>
          <FunctionField<Entry> render={(entry) => describeChanges(entry)} />
        </DataTable.Col>
      </DataTable>
    </ReferenceManyField>
  );
}
