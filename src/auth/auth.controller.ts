import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblems, NoContent } from '../common/api-docs.js';
import { type AuthUser, CurrentUser } from './current-user.decorator.js';
import { Public } from './public.decorator.js';
import { RegisteredUserDto } from '../users/dto/user-response.dto.js';
import { AuthRateLimited } from '../throttling/rate-limits.js';
import { Idempotent, REPLAYED_HEADER } from '../idempotency/idempotent.decorator.js';
import { AuthService } from './auth.service.js';
import { MfaSetupRoute } from './mfa/mfa-required.guard.js';
import { ChangePasswordDto } from './dto/change-password.dto.js';
import { LoginDto } from './dto/login.dto.js';
import { RefreshDto } from './dto/refresh.dto.js';
import { RegisterDto } from './dto/register.dto.js';
import { TokenPairDto } from './dto/token-pair.dto.js';

const NO_REFRESH = {
  status: 400,
  errors: { refresh: ['refresh must be a string', 'refresh must be shorter than or equal to 4096 characters'] },
};
const BAD_REFRESH = { status: 401, detail: 'The refresh token is invalid or has expired.' };

@ApiTags('auth')
@Controller('api/auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Public()
  @AuthRateLimited()
  @Post('register')
  @Idempotent({ resource: 'user' }, { documentsConflict: true })
  @ApiOperation({ summary: 'Register a user' })
  @ApiCreatedResponse({ type: RegisteredUserDto, headers: REPLAYED_HEADER, description: 'The account' })
  @ApiProblems(
    { status: 400, errors: { password: ['password must be at least 8 characters'] } },
    { status: 409, detail: 'A user with that username already exists.' },
    413,
    415,
  )
  register(@Body() dto: RegisterDto): Promise<RegisteredUserDto> {
    return this.auth.register(dto);
  }

  @Public()
  @AuthRateLimited()
  @Post('login')
  @HttpCode(200)
  @ApiOperation({ summary: 'Log in: opens a session and returns a refresh and an access token' })
  @ApiOkResponse({ type: TokenPairDto, description: 'A new session: its access and refresh tokens' })
  @ApiProblems(
    { status: 400, errors: { password: ['password must be a string', 'password must be shorter than or equal to 1024 characters'] } },
    { status: 401, detail: 'No active account found with the given credentials.' },
    413,
    415,
  )
  login(@Body() dto: LoginDto): Promise<TokenPairDto> {
    return this.auth.login(dto);
  }

  @Public()
  @AuthRateLimited()
  @Post('refresh')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Exchange a refresh token for a new pair',
    description: 'The refresh token rotates: the old one stops working. Presenting it again ends the whole session.',
  })
  @ApiOkResponse({ type: TokenPairDto, description: 'A new pair; the refresh token sent stops working' })
  @ApiProblems(NO_REFRESH, BAD_REFRESH, 413, 415)
  refresh(@Body() dto: RefreshDto): Promise<TokenPairDto> {
    return this.auth.refresh(dto.refresh);
  }

  @Public()
  @Post('logout')
  @NoContent()
  @ApiOperation({ summary: "End the refresh token's session", description: 'No access token needed: the refresh token is the proof.' })
  @ApiProblems(NO_REFRESH, BAD_REFRESH, 413, 415)
  logout(@Body() dto: RefreshDto): Promise<void> {
    return this.auth.logout(dto.refresh);
  }

  @MfaSetupRoute()
  @Post('logout-all')
  @NoContent()
  @ApiBearerAuth()
  @ApiOperation({ summary: "End every session of the caller" })
  @ApiProblems(401)
  logoutAll(@CurrentUser() user: AuthUser): Promise<void> {
    return this.auth.logoutAll(user.id);
  }

  @Post('password')
  @NoContent()
  @ApiBearerAuth()
  @ApiOperation({ summary: 'Change the password', description: 'Ends every session of the user.' })
  @ApiProblems({ status: 400, errors: { new_password: ['new_password must be a string'] } }, 401, 413, 415)
  changePassword(@CurrentUser() user: AuthUser, @Body() dto: ChangePasswordDto): Promise<void> {
    return this.auth.changePassword(user.id, dto);
  }
}
