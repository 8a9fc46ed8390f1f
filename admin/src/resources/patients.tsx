import { Alert, useMediaQuery, type Theme } from '@mui/material';
import {
  AutocompleteInput,
  Create,
  DataTable,
  DateField,
  DeleteWithConfirmButton,
  Edit,
  EditButton,
  NumberField,
  NumberInput,
  ReferenceInput,
  ReferenceManyField,
  SearchInput,
  SelectInput,
  Show,
  SimpleForm,
  SimpleList,
  TabbedShowLayout,
  TextField,
  TextInput,
  TopToolbar,
  required,
} from 'react-admin';
import type { Schemas } from '../../../client/src/index.js';
import { RecordHistory } from './history.js';
import { useSaved } from './saved.js';
import { PrivateList } from './private-list.js';

type Patient = Schemas['AdminPatientDto'];

const genders = (['female', 'male', 'other', 'unknown'] satisfies Patient['gender'][]).map((id) => ({ id, name: id }));

// Sources are the API's query parameters (see dataProvider).
const filters = [
  <SearchInput key="search" source="search" placeholder="Search names" alwaysOn />,
  <SelectInput key="gender" source="gender" choices={genders} />,
  <NumberInput key="min_age" source="min_age" label="Min age" />,
  <NumberInput key="max_age" source="max_age" label="Max age" />,
  <ReferenceInput key="owner" source="owner" reference="users" sort={{ field: 'username', order: 'ASC' }}>
    <AutocompleteInput label="Owner" optionText="username" />
  </ReferenceInput>,
];

export function PatientList() {
  const small = useMediaQuery<Theme>((theme) => theme.breakpoints.down('sm'));
  return (
    <PrivateList filters={filters} exporter={false} sort={{ field: 'created_at', order: 'DESC' }}>
      {small ? (
        <SimpleList<Patient>
          primaryText={(p) => p.name}
          secondaryText={(p) => `${p.age} · ${p.gender}`}
          tertiaryText={(p) => p.owner_username}
          linkType="show"
        />
      ) : (
        <DataTable bulkActionButtons={false} rowClick="show">
          <DataTable.Col source="name" />
          <DataTable.NumberCol source="age" />
          <DataTable.Col source="gender" disableSort />
          <DataTable.Col source="owner_username" label="Owner" disableSort />
          <DataTable.Col source="created_at" label="Created" field={DateField} />
        </DataTable>
      )}
    </PrivateList>
  );
}

// Field names are the API's wire names, so its validation errors land on the matching input.
function PatientForm() {
  return (
    <>
      <TextInput source="name" validate={required()} />
      {/* Ranges are the API's to check: its message appears under the field. */}
      <NumberInput source="age" step={1} validate={required()} />
      <SelectInput source="gender" choices={genders} validate={required()} />
      <TextInput source="address" multiline parse={(value: string) => value} />
    </>
  );
}

export function PatientCreate() {
  const saved = useSaved((p) => `Patient ${p.name} created`, 'show');
  return (
    <Create redirect="show" mutationOptions={saved}>
      <SimpleForm>
        <Alert severity="info" sx={{ mb: 1 }}>
          The new patient is owned by your account.
        </Alert>
        <PatientForm />
      </SimpleForm>
    </Create>
  );
}

export function PatientEdit() {
  const saved = useSaved((p) => `Patient ${p.name} updated`, 'show');
  return (
    <Edit mutationMode="pessimistic" redirect="show" mutationOptions={saved}>
      <SimpleForm>
        <PatientForm />
      </SimpleForm>
    </Edit>
  );
}

export function PatientShow() {
  const deleted = useSaved((p) => `Patient ${p.name} deleted`, 'list');
  return (
    <Show
      actions={
        <TopToolbar>
          <EditButton />
          <DeleteWithConfirmButton confirmContent="The patient and their doctor assignments will be deleted. An admin can restore them from Deleted until they are purged." mutationOptions={deleted} />
        </TopToolbar>
      }
    >
      <TabbedShowLayout>
        <TabbedShowLayout.Tab label="Record">
          <TextField source="name" />
          <NumberField source="age" />
          <TextField source="gender" />
          <TextField source="address" />
          <DateField source="created_at" label="Created" showTime />
          <DateField source="updated_at" label="Updated" showTime />
          <NumberField source="version" />
          <ReferenceManyField label="Doctors" reference="mappings" target="patient">
            <DataTable bulkActionButtons={false} rowClick={false}>
              <DataTable.Col source="doctor_name" label="Doctor" disableSort />
              <DataTable.Col source="created_at" label="Assigned" field={DateField} disableSort />
            </DataTable>
          </ReferenceManyField>
        </TabbedShowLayout.Tab>
        <TabbedShowLayout.Tab label="History" path="history">
          <RecordHistory reference="patient-history" />
        </TabbedShowLayout.Tab>
      </TabbedShowLayout>
    </Show>
  );
}
