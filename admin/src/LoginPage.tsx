import { useState } from 'react';
import { Alert, Button, CardContent, Typography } from '@mui/material';
import { Form, Login, PasswordInput, TextInput, required, useAuthProvider, useLogin } from 'react-admin';
import type { Schemas } from '../../client/src/index.js';
import { MfaSetupRequired, type ConsoleAuthProvider, type LoginParams } from './authProvider.js';
import { MfaSetup } from './MfaSetup.js';

/**
 * react-admin's login page, with the reason a sign-in failed kept on the page
 * (a wrong password or code, or "administrators only") instead of a passing
 * toast. The code field is always there: the API refuses a missing code with
 * the same 401 as a wrong password, so the console cannot ask for it only
 * when needed. An admin who must set up a second factor is walked through it
 * here before getting in.
 */
function AdminLoginForm() {
  const login = useLogin();
  const auth = useAuthProvider<ConsoleAuthProvider>()!;
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [setup, setSetup] = useState<Schemas['MfaSetupDto'] | null>(null);

  const submit = async (values: Record<string, unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await login(values as LoginParams);
    } catch (e) {
      if (e instanceof MfaSetupRequired) {
        try {
          setSetup(await auth.startMfaSetup());
        } catch (failed) {
          await auth.logout({});
          setError(failed instanceof Error ? failed.message : 'Two-factor setup could not start.');
        }
      } else {
        setError(e instanceof Error ? e.message : 'Sign-in failed.');
      }
      setBusy(false);
    }
  };

  if (setup) {
    return (
      <MfaSetup
        setup={setup}
        onDone={() => login({ afterMfaSetup: true } satisfies LoginParams)}
        onCancel={() => {
          setSetup(null);
          // The setup was the login's second step: end the session and stay on the login page.
          void auth.logout({});
        }}
      />
    );
  }

  return (
    <Form onSubmit={submit} noValidate>
      <CardContent sx={{ width: 320, maxWidth: '100%', boxSizing: 'border-box' }}>
        <Typography variant="h6" component="h1" align="center" gutterBottom>
          Healthcare staff console
        </Typography>
        {error && (
          <Alert severity="error" role="alert" data-testid="login-error" sx={{ mb: 1 }}>
            {error}
          </Alert>
        )}
        <TextInput source="username" autoFocus autoComplete="username" validate={required()} />
        <PasswordInput source="password" autoComplete="current-password" validate={required()} />
        <TextInput
          source="otp"
          label="Authentication code"
          autoComplete="one-time-code"
          helperText="If two-factor authentication is on: the code from your app, or a recovery code"
        />
        <Button type="submit" variant="contained" fullWidth disabled={busy} sx={{ mt: 2 }}>
          Sign in
        </Button>
      </CardContent>
    </Form>
  );
}

export function LoginPage() {
  return (
    <Login>
      <AdminLoginForm />
    </Login>
  );
}
