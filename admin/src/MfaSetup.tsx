import { useEffect, useState, type FormEvent } from 'react';
import { Alert, Box, Button, CardContent, TextField, Typography } from '@mui/material';
import QRCode from 'qrcode';
import { useAuthProvider } from 'react-admin';
import type { Schemas } from '../../client/src/index.js';
import { ApiError, type ConsoleAuthProvider } from './authProvider.js';

interface Props {
  setup: Schemas['MfaSetupDto'];
  /** After the recovery codes were shown: finish signing in. */
  onDone(): Promise<void>;
  /** Sign out instead. */
  onCancel(): void;
}

/** The otpauth URI as a QR code, drawn here (a data: URL; no image service sees the secret). */
function useQrCode(text: string): string | null {
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    let current = true;
    QRCode.toDataURL(text, { errorCorrectionLevel: 'M', margin: 2, width: 200 }).then(
      (made) => current && setUrl(made),
      () => current && setUrl(null),
    );
    return () => {
      current = false;
    };
  }, [text]);
  return url;
}

/**
 * The setup an admin without a second factor is walked through after the
 * password (ADMIN_MFA_REQUIRED): a QR code of the otpauth URI and the secret
 * as text for an authenticator app, a code to confirm it, then the ten
 * recovery codes, shown this once.
 */
export function MfaSetup({ setup, onDone, onCancel }: Props) {
  const auth = useAuthProvider<ConsoleAuthProvider>()!;
  const qr = useQrCode(setup.otpauth_uri);
  const [code, setCode] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [recoveryCodes, setRecoveryCodes] = useState<string[] | null>(null);

  const confirm = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      setRecoveryCodes(await auth.confirmMfa(code));
    } catch (e) {
      setError(e instanceof ApiError ? e.messageFor('code') : 'The code could not be checked.');
    }
    setBusy(false);
  };

  const finish = async () => {
    setBusy(true);
    setError(null);
    try {
      await onDone();
    } catch (e) {
      setError(e instanceof Error ? e.message : 'Sign-in failed.');
      setBusy(false);
    }
  };

  if (recoveryCodes) {
    return (
      <CardContent sx={{ width: 360, maxWidth: '100%', boxSizing: 'border-box' }}>
        <Typography variant="h6" component="h1" gutterBottom>
          Recovery codes
        </Typography>
        <Alert severity="success" sx={{ mb: 1 }}>
          Two-factor authentication is on.
        </Alert>
        <Typography variant="body2" gutterBottom>
          Each code below signs you in once in place of a code from the app, if you lose the device. Keep them
          somewhere safe: they are shown only now.
        </Typography>
        <Box
          component="ul"
          data-testid="recovery-codes"
          sx={{
            display: 'grid',
            gridTemplateColumns: 'repeat(2, max-content)',
            justifyContent: 'space-around',
            columnGap: 3,
            rowGap: 0.5,
            listStyle: 'none',
            fontFamily: 'monospace',
            fontSize: '1rem',
            p: 0,
            my: 2,
          }}
        >
          {recoveryCodes.map((c) => (
            <li key={c}>{c}</li>
          ))}
        </Box>
        {error && (
          <Alert severity="error" role="alert" data-testid="login-error" sx={{ mb: 1 }}>
            {error}
          </Alert>
        )}
        <Button variant="contained" fullWidth disabled={busy} onClick={finish}>
          I have saved them: continue
        </Button>
      </CardContent>
    );
  }

  return (
    <CardContent component="form" onSubmit={confirm} noValidate sx={{ width: 360, maxWidth: '100%', boxSizing: 'border-box' }}>
      <Typography variant="h6" component="h1" gutterBottom>
        Set up two-factor authentication
      </Typography>
      <Typography variant="body2" gutterBottom>
        Administrators sign in with a second factor. Scan this code with an authenticator app, or type the key
        into it, then enter the 6-digit code the app shows.
      </Typography>
      <Box sx={{ display: 'flex', justifyContent: 'center', my: 1, minHeight: 200 }}>
        {qr && <img src={qr} width={200} height={200} alt="QR code for the authenticator app" />}
      </Box>
      <Typography variant="caption" component="p">
        Key
      </Typography>
      <Typography data-testid="mfa-secret" sx={{ fontFamily: 'monospace', wordBreak: 'break-all', mb: 1 }}>
        {setup.secret}
      </Typography>
      <TextField
        name="code"
        label="Code from the app"
        value={code}
        onChange={(e) => setCode(e.target.value)}
        autoFocus
        fullWidth
        autoComplete="one-time-code"
        error={error !== null}
        helperText={error ?? ' '}
        slotProps={{ htmlInput: { inputMode: 'numeric', maxLength: 6 } }}
      />
      <Button type="submit" variant="contained" fullWidth disabled={busy || code.trim() === ''} sx={{ mt: 1 }}>
        Turn on
      </Button>
      <Button fullWidth onClick={onCancel} disabled={busy} sx={{ mt: 1 }}>
        Sign out
      </Button>
    </CardContent>
  );
}
