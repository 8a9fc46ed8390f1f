import { useMediaQuery, type Theme } from '@mui/material';
import {
  AutocompleteInput,
  Create,
  DataTable,
  DateField,
  DeleteWithConfirmButton,
  Link,
  ReferenceInput,
  SimpleForm,
  SimpleList,
  required,
} from 'react-admin';
import type { Schemas } from '../../../client/src/index.js';
import { PrivateList } from './private-list.js';
import { useSaved } from './saved.js';

type Mapping = Schemas['AdminMappingDto'];

const confirm = {
  label: 'Unassign',
  confirmTitle: 'Unassign this doctor?',
  confirmContent: 'The patient keeps their record; only this assignment is removed.',
};

/** A patient or doctor picker: it searches the API as one types (react-admin's `q` is the lists' `search`). */
function picker(source: 'patient' | 'doctor', isRequired: boolean) {
  return (
    <ReferenceInput key={source} source={source} reference={`${source}s`} sort={{ field: 'name', order: 'ASC' }}>
      <AutocompleteInput optionText="name" validate={isRequired ? required() : undefined} />
    </ReferenceInput>
  );
}

const filters = [
  picker('patient', false),
  picker('doctor', false),
  <ReferenceInput key="owner" source="owner" reference="users" sort={{ field: 'username', order: 'ASC' }}>
    <AutocompleteInput label="Owner" optionText="username" />
  </ReferenceInput>,
];

/** The API lists mappings newest first and sorts them no other way. */
export function MappingList() {
  const small = useMediaQuery<Theme>((theme) => theme.breakpoints.down('sm'));
  const unassigned = { ...confirm, mutationOptions: useSaved((m) => `${m.doctor_name} unassigned from ${m.patient_name}`, 'list') };
  return (
    <PrivateList filters={filters} exporter={false} sort={{ field: 'created_at', order: 'DESC' }}>
      {small ? (
        <SimpleList<Mapping>
          primaryText={(m) => m.patient_name}
          secondaryText={(m) => m.doctor_name}
          tertiaryText={(m) => new Date(m.created_at).toLocaleDateString()}
          rightIcon={() => <DeleteWithConfirmButton {...unassigned} />}
          linkType={false}
        />
      ) : (
        <DataTable bulkActionButtons={false} rowClick={false}>
          <DataTable.Col
            source="patient_name"
            label="Patient"
            disableSort
            render={(m: Mapping) => <Link to={`/patients/${m.patient}/show`}>{m.patient_name}</Link>}
          />
          <DataTable.Col
            source="doctor_name"
            label="Doctor"
            disableSort
            render={(m: Mapping) => <Link to={`/doctors/${m.doctor}/show`}>{m.doctor_name}</Link>}
          />
          <DataTable.Col source="created_at" label="Assigned" field={DateField} disableSort />
          <DataTable.Col label="">
            <DeleteWithConfirmButton {...unassigned} />
          </DataTable.Col>
        </DataTable>
      )}
    </PrivateList>
  );
}

export function MappingCreate() {
  const saved = useSaved(() => 'Doctor assigned', 'list');
  return (
    <Create redirect="list" mutationOptions={saved}>
      <SimpleForm>
        {picker('patient', true)}
        {picker('doctor', true)}
      </SimpleForm>
    </Create>
  );
}
