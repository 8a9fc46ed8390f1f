import { useMediaQuery, type Theme } from '@mui/material';
import {
  BooleanField,
  BooleanInput,
  Create,
  DataTable,
  DateField,
  Edit,
  EmailField,
  Labeled,
  PasswordInput,
  ReferenceManyField,
  SaveButton,
  SearchInput,
  SelectField,
  SelectInput,
  Show,
  SimpleForm,
  SimpleList,
  SimpleShowLayout,
  TextField,
  TextInput,
  Toolbar,
  required,
} from 'react-admin';
import type { Schemas } from '../../../client/src/index.js';
import { PrivateList } from './private-list.js';
import { useSaved } from './saved.js';

type User = Schemas['AdminUserDto'];

const roles = (['user', 'admin'] satisfies User['role'][]).map((id) => ({ id, name: id }));

const filters = [
  <SearchInput key="search" source="search" placeholder="Search username, email" alwaysOn />,
  <SelectInput key="role" source="role" choices={roles} />,
  <SelectInput
    key="is_active"
    source="is_active"
    label="Status"
    choices={[
      { id: 'true', name: 'Active' },
      { id: 'false', name: 'Inactive' },
    ]}
  />,
];

export function UserList() {
  const small = useMediaQuery<Theme>((theme) => theme.breakpoints.down('sm'));
  return (
    <PrivateList filters={filters} exporter={false} sort={{ field: 'date_joined', order: 'DESC' }}>
      {small ? (
        <SimpleList<User>
          primaryText={(u) => u.username}
          secondaryText={(u) => u.email}
          tertiaryText={(u) => (u.is_active ? u.role : `${u.role}, inactive`)}
          linkType="show"
        />
      ) : (
        <DataTable bulkActionButtons={false} rowClick="show">
          <DataTable.Col source="username" />
          <DataTable.Col source="email" field={EmailField} disableSort />
          <DataTable.Col source="role" disableSort />
          <DataTable.Col source="is_active" label="Active" field={BooleanField} disableSort />
          <DataTable.Col source="date_joined" label="Joined" field={DateField} />
        </DataTable>
      )}
    </PrivateList>
  );
}

export function UserShow() {
  return (
    <Show>
      <SimpleShowLayout>
        <TextField source="username" />
        <EmailField source="email" />
        <SelectField source="role" choices={roles} />
        <BooleanField source="is_active" label="Active" />
        <DateField source="date_joined" label="Joined" showTime />
        <ReferenceManyField label="Patients" reference="patients" target="owner">
          <DataTable bulkActionButtons={false} rowClick="show">
            <DataTable.Col source="name" disableSort />
            <DataTable.NumberCol source="age" disableSort />
          </DataTable>
        </ReferenceManyField>
      </SimpleShowLayout>
    </Show>
  );
}

/** An account made by an admin: registration's rules, checked by the API (its messages appear under the fields). */
export function UserCreate() {
  const saved = useSaved((u) => `User ${u.username} created`, 'show');
  return (
    <Create redirect="show" mutationOptions={saved}>
      <SimpleForm defaultValues={{ role: 'user' }}>
        <TextInput source="username" validate={required()} autoComplete="off" />
        <TextInput source="email" type="email" validate={required()} autoComplete="off" />
        <PasswordInput source="password" validate={required()} autoComplete="new-password" />
        <SelectInput source="role" choices={roles} validate={required()} />
      </SimpleForm>
    </Create>
  );
}

/** The API changes only a user's role and whether they may sign in; users are never deleted. */
export function UserEdit() {
  const saved = useSaved((u) => `User ${u.username} updated`, 'show');
  return (
    <Edit mutationMode="pessimistic" redirect="show" mutationOptions={saved}>
      <SimpleForm
        toolbar={
          <Toolbar>
            <SaveButton />
          </Toolbar>
        }
      >
        <Labeled>
          <TextField source="username" />
        </Labeled>
        <Labeled>
          <EmailField source="email" />
        </Labeled>
        <SelectInput source="role" choices={roles} />
        <BooleanInput source="is_active" label="Active (may sign in)" />
      </SimpleForm>
    </Edit>
  );
}
