import { useState } from 'react';
import { Alert, Button, CardContent, Typography } from '@mui/material';
import { Form, Login, PasswordInput, TextInput, required, useLogin } from 'react-admin';

/**
 * react-admin's login page, with the reason a sign-in failed kept on the page
 * (a wrong password, or "administrators only") instead of a passing toast.
 */
function AdminLoginForm() {
  const login = useLogin();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (values: Record<string, unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await login(values);
    } catch (e) {
      setError(e instanceof Error ? e.message : 'Sign-in failed.');
      setBusy(false);
    }
  };

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
