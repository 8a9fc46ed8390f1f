import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblems, NoContent } from '../../common/api-docs.js';
import { type AuthUser, CurrentUser } from '../current-user.decorator.js';
import { AuthRateLimited } from '../../throttling/rate-limits.js';
import { ConfirmMfaDto } from './dto/confirm-mfa.dto.js';
import { DisableMfaDto } from './dto/disable-mfa.dto.js';
import { MfaRecoveryCodesDto, MfaSetupDto, MfaStatusDto } from './dto/mfa-response.dto.js';
import { MFA_SETUP_REQUIRED, MfaSetupRoute } from './mfa-required.guard.js';
import { MfaService } from './mfa.service.js';

const WRONG_SECRET = 'the password or the code is not correct';

@ApiTags('auth')
@ApiBearerAuth()
@Controller('api/auth/mfa')
export class MfaController {
  constructor(private readonly mfa: MfaService) {}

  @MfaSetupRoute()
  @Get()
  @ApiOperation({ summary: "The caller's second factor: on, pending, required" })
  @ApiOkResponse({ type: MfaStatusDto, description: "The state of the caller's second factor" })
  @ApiProblems(401)
  status(@CurrentUser() user: AuthUser): Promise<MfaStatusDto> {
    return this.mfa.status(user);
  }

  @MfaSetupRoute()
  @Post('setup')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Start setting up a TOTP second factor',
    description:
      'Returns a new secret and its otpauth:// URI (for a QR code). It is not active until confirmed; ' +
      'calling setup again replaces a pending secret. 409 once a factor is on.',
  })
  @ApiOkResponse({ type: MfaSetupDto, description: 'The secret to enter in an authenticator app; not active until confirmed' })
  @ApiProblems(401, { status: 409, detail: 'Two-factor authentication is already on; disable it before setting it up again.' })
  setup(@CurrentUser() user: AuthUser): Promise<MfaSetupDto> {
    return this.mfa.setup(user);
  }

  @MfaSetupRoute()
  @Post('confirm')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Turn the second factor on with a code from the app',
    description: 'Returns ten single-use recovery codes, shown only this once. From now on login needs `otp`.',
  })
  @ApiOkResponse({ type: MfaRecoveryCodesDto, description: 'The factor is on; ten recovery codes, shown only this once' })
  @ApiProblems(
    { status: 400, errors: { code: ['code must be the 6 digits the authenticator app shows'] } },
    401,
    { status: 409, detail: 'There is no setup to confirm: start with POST /api/auth/mfa/setup/.' },
    413,
    415,
  )
  confirm(@CurrentUser() user: AuthUser, @Body() dto: ConfirmMfaDto): Promise<MfaRecoveryCodesDto> {
    return this.mfa.confirm(user, dto.code);
  }

  @AuthRateLimited()
  @Post('disable')
  @NoContent()
  @ApiOperation({
    summary: 'Turn the second factor off',
    description:
      'Needs the password and a code (TOTP or recovery). Wrong ones count in the failed-login lockout; ' +
      'the 400 does not say which was wrong. The recovery codes are removed too.',
  })
  @ApiProblems(
    { status: 400, errors: { password: [WRONG_SECRET], code: [WRONG_SECRET] } },
    401,
    { status: 403, detail: MFA_SETUP_REQUIRED },
    { status: 409, detail: 'Two-factor authentication is not on.' },
    413,
    415,
    { status: 429, detail: 'Too many failed password attempts for this account; try again later.' },
  )
  disable(@CurrentUser() user: AuthUser, @Body() dto: DisableMfaDto): Promise<void> {
    return this.mfa.disable(user, dto);
  }
}
