import { Admin, Resource, defaultTheme, memoryStore, type RaThemeOptions } from 'react-admin';
import DoctorIcon from '@mui/icons-material/LocalHospital';
import MappingIcon from '@mui/icons-material/Link';
import PatientIcon from '@mui/icons-material/People';
import UserIcon from '@mui/icons-material/ManageAccounts';
import AuditIcon from '@mui/icons-material/History';
import DeletedIcon from '@mui/icons-material/RestoreFromTrash';
import { TokenSession } from '../../client/src/index.js';
import { createAuthProvider } from './authProvider.js';
import { createDataProvider } from './dataProvider.js';
import { LoginPage } from './LoginPage.js';
import { AuditList } from './resources/audit.js';
import { DeletedList } from './resources/deleted.js';
import { DoctorCreate, DoctorEdit, DoctorList, DoctorShow } from './resources/doctors.js';
import { MappingCreate, MappingList } from './resources/mappings.js';
import { PatientCreate, PatientEdit, PatientList, PatientShow } from './resources/patients.js';
import { UserCreate, UserEdit, UserList, UserShow } from './resources/users.js';

// The console is served by the API itself, at /admin.
const session = new TokenSession({ baseUrl: window.location.origin });
const authProvider = createAuthProvider(session);
const dataProvider = createDataProvider(session.client);
// What the lists remember (their filters may hold patient names: see resources/private-list.tsx) stays in memory,
// not in localStorage, and one store serves the whole app.
const store = memoryStore();

// The system's own fonts: the API's Content-Security-Policy loads nothing from other origins.
const theme: RaThemeOptions = {
  ...defaultTheme,
  typography: {
    ...defaultTheme.typography,
    fontFamily: 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif',
  },
};

export function App() {
  return (
    <Admin
      title="Healthcare staff console"
      authProvider={authProvider}
      dataProvider={dataProvider}
      loginPage={LoginPage}
      theme={theme}
      store={store}
      disableTelemetry
      requireAuth
    >
      <Resource
        name="patients"
        icon={PatientIcon}
        recordRepresentation="name"
        list={PatientList}
        show={PatientShow}
        create={PatientCreate}
        edit={PatientEdit}
      />
      <Resource
        name="doctors"
        icon={DoctorIcon}
        recordRepresentation="name"
        list={DoctorList}
        show={DoctorShow}
        create={DoctorCreate}
        edit={DoctorEdit}
      />
      <Resource
        name="mappings"
        icon={MappingIcon}
        list={MappingList}
        create={MappingCreate}
      />
      <Resource
        name="users"
        icon={UserIcon}
        recordRepresentation="username"
        list={UserList}
        show={UserShow}
        create={UserCreate}
        edit={UserEdit}
      />
      {/* Read through the History tab of a patient or a doctor; no page of their own. */}
      <Resource name="patient-history" />
      <Resource name="doctor-history" />
      <Resource name="deleted" icon={DeletedIcon} options={{ label: 'Deleted' }} list={DeletedList} />
      <Resource name="audit-events" icon={AuditIcon} options={{ label: 'Audit trail' }} list={AuditList} />
    </Admin>
  );
}
