import { useMediaQuery, type Theme } from '@mui/material';
import {
  Create,
  DataTable,
  DateField,
  DeleteWithConfirmButton,
  Edit,
  EditButton,
  EmailField,
  NumberField,
  ReferenceManyField,
  SearchInput,
  Show,
  SimpleForm,
  SimpleList,
  TabbedShowLayout,
  TextField,
  TextInput,
  TopToolbar,
  email,
  required,
} from 'react-admin';
import type { Schemas } from '../../../client/src/index.js';
import { RecordHistory } from './history.js';
import { useSaved } from './saved.js';
import { PrivateList } from './private-list.js';

type Doctor = Schemas['DoctorDto'];

const filters = [
  <SearchInput key="search" source="search" placeholder="Search names, specializations" alwaysOn />,
  <TextInput key="specialization" source="specialization" />,
];

export function DoctorList() {
  const small = useMediaQuery<Theme>((theme) => theme.breakpoints.down('sm'));
  return (
    <PrivateList filters={filters} exporter={false} sort={{ field: 'name', order: 'ASC' }}>
      {small ? (
        <SimpleList<Doctor>
          primaryText={(d) => d.name}
          secondaryText={(d) => d.specialization}
          tertiaryText={(d) => d.phone}
          linkType="show"
        />
      ) : (
        <DataTable bulkActionButtons={false} rowClick="show">
          <DataTable.Col source="name" />
          <DataTable.Col source="specialization" />
          <DataTable.Col source="email" field={EmailField} disableSort />
          <DataTable.Col source="phone" disableSort />
          <DataTable.Col source="created_at" label="Created" field={DateField} />
        </DataTable>
      )}
    </PrivateList>
  );
}

function DoctorForm() {
  return (
    <>
      <TextInput source="name" validate={required()} />
      <TextInput source="specialization" validate={required()} />
      <TextInput source="email" type="email" validate={[required(), email()]} />
      <TextInput source="phone" helperText="10 digits" validate={required()} />
    </>
  );
}

export function DoctorCreate() {
  const saved = useSaved((d) => `Doctor ${d.name} created`, 'show');
  return (
    <Create redirect="show" mutationOptions={saved}>
      <SimpleForm>
        <DoctorForm />
      </SimpleForm>
    </Create>
  );
}

export function DoctorEdit() {
  const saved = useSaved((d) => `Doctor ${d.name} updated`, 'show');
  return (
    <Edit mutationMode="pessimistic" redirect="show" mutationOptions={saved}>
      <SimpleForm>
        <DoctorForm />
      </SimpleForm>
    </Edit>
  );
}

export function DoctorShow() {
  const deleted = useSaved((d) => `Doctor ${d.name} deleted`, 'list');
  return (
    <Show
      actions={
        <TopToolbar>
          <EditButton />
          <DeleteWithConfirmButton confirmContent="The doctor and their patient assignments will be deleted. An admin can restore them from Deleted until they are purged." mutationOptions={deleted} />
        </TopToolbar>
      }
    >
      <TabbedShowLayout>
        <TabbedShowLayout.Tab label="Record">
          <TextField source="name" />
          <TextField source="specialization" />
          <EmailField source="email" />
          <TextField source="phone" />
          <DateField source="created_at" label="Created" showTime />
          <DateField source="updated_at" label="Updated" showTime />
          <NumberField source="version" />
          <ReferenceManyField label="Patients" reference="mappings" target="doctor">
            <DataTable bulkActionButtons={false} rowClick={false}>
              <DataTable.Col source="patient_name" label="Patient" disableSort />
              <DataTable.Col source="created_at" label="Assigned" field={DateField} disableSort />
            </DataTable>
          </ReferenceManyField>
        </TabbedShowLayout.Tab>
        <TabbedShowLayout.Tab label="History" path="history">
          <RecordHistory reference="doctor-history" />
        </TabbedShowLayout.Tab>
      </TabbedShowLayout>
    </Show>
  );
}
