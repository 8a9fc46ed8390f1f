import { ApiProperty } from '@nestjs/swagger';

export class MfaSetupDto {
  @ApiProperty({ description: 'The new TOTP secret (base32), for typing into an app by hand. Not active until confirmed.', example: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP' })
  secret: string;

  @ApiProperty({
    description: 'The same secret as an otpauth:// URI (SHA-1, 6 digits, 30 s), to show as a QR code.',
    example: 'otpauth://totp/Healthcare%20API:ada?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Healthcare%20API',
  })
  otpauth_uri: string;
}

export class MfaRecoveryCodesDto {
  @ApiProperty({
    description: 'Ten single-use recovery codes, each accepted once in place of a TOTP code. Shown only now: they are stored hashed.',
    type: [String],
    example: ['7k2m-x9qd-4hz1', 'p3vt-0c8e-wq6n'],
  })
  recovery_codes: string[];
}

export class MfaStatusDto {
  @ApiProperty({ description: 'A confirmed second factor is on: login needs `otp`.' })
  enabled: boolean;

  @ApiProperty({ description: 'A setup was started and awaits confirmation.' })
  pending: boolean;

  @ApiProperty({ description: 'This account must have a second factor (ADMIN_MFA_REQUIRED, admins).' })
  required: boolean;

  @ApiProperty({ type: 'integer', description: 'Unused recovery codes.', example: 10 })
  recovery_codes_left: number;
}
