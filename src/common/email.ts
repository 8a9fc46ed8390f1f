import { applyDecorators } from '@nestjs/common';
import { IsEmail, Matches } from 'class-validator';

/**
 * The WHATWG HTML form rule for e-mail addresses (what browsers and JSON
 * Schema's `format: email` validators accept): ASCII only, no quoted local
 * parts. Without it an invisible character (a zero-width space) would make a
 * second account with the "same" address, and unicode addresses would break
 * the documented `format: email`.
 */
const HTML_EMAIL =
  /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+$/;

const MESSAGE = 'email must be a valid email address';

/** An e-mail address as the OpenAPI document promises it (`format: email`). */
export function IsPlainEmail() {
  return applyDecorators(
    IsEmail({ allow_utf8_local_part: false, allow_display_name: false }, { message: MESSAGE }),
    Matches(HTML_EMAIL, { message: MESSAGE }),
  );
}
