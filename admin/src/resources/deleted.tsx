import { useState } from 'react';
import {
  Button,
  DataTable,
  DateField,
  RadioButtonGroupInput,
  type DataProvider,
  type RaRecord,
  ReferenceField,
  useDataProvider,
  useNotify,
  useRecordContext,
  useRefresh,
} from 'react-admin';
import RestoreIcon from '@mui/icons-material/RestoreFromTrash';
import type { Schemas } from '../../../client/src/index.js';
import { PrivateList } from './private-list.js';

type Deleted = Schemas['DeletedRecordDto'];

/** The data provider's one call beyond react-admin's own: bring a deleted record back. */
export type ConsoleDataProvider = DataProvider & { restore(type: Deleted['type'], id: string): Promise<RaRecord> };

const KINDS = { patient: 'Patient', doctor: 'Doctor' } satisfies Record<Deleted['type'], string>;

// The API lists one kind at a time; the choice is always on and never empty.
const filters = [
  <RadioButtonGroupInput
    key="type"
    source="type"
    label="Deleted"
    alwaysOn
    choices={[
      { id: 'patient', name: 'Patients' },
      { id: 'doctor', name: 'Doctors' },
    ]}
  />,
];

/** Restores the row's record, says so, and reloads the list (it leaves it). */
function RestoreButton() {
  const record = useRecordContext<Deleted & { id: string }>();
  const dataProvider = useDataProvider<ConsoleDataProvider>();
  const notify = useNotify();
  const refresh = useRefresh();
  const [busy, setBusy] = useState(false);
  if (!record) return null;
  const restore = async () => {
    setBusy(true);
    try {
      await dataProvider.restore(record.type, record.id);
      notify(`${KINDS[record.type]} ${record.name} restored`, { type: 'success' });
      refresh();
    } catch (error) {
      notify((error as Error).message, { type: 'error' });
    } finally {
      setBusy(false);
    }
  };
  return (
    <Button label="Restore" disabled={busy} onClick={restore}>
      <RestoreIcon />
    </Button>
  );
}

/**
 * Deleted patients or doctors, most recently deleted first, until each is
 * purged (DELETED_RETENTION_DAYS after its delete). Restore brings one back
 * with its doctor assignments; a doctor whose email a live doctor now has
 * cannot come back (the API's 409 message says why).
 */
export function DeletedList() {
  return (
    <PrivateList filters={filters} filterDefaultValues={{ type: 'patient' }} exporter={false} sort={{ field: 'deleted_at', order: 'DESC' }}>
      <DataTable bulkActionButtons={false} rowClick={false}>
        <DataTable.Col source="name" />
        <DataTable.Col source="deleted_at" label="Deleted">
          <DateField source="deleted_at" showTime />
        </DataTable.Col>
        <DataTable.Col source="deleted_by" label="By">
          <ReferenceField source="deleted_by" reference="users" link="show" emptyText="(account gone)" />
        </DataTable.Col>
        <DataTable.Col source="purge_after" label="Purged after">
          <DateField source="purge_after" />
        </DataTable.Col>
        <DataTable.Col label="">
          <RestoreButton />
        </DataTable.Col>
      </DataTable>
    </PrivateList>
  );
}
