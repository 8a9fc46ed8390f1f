import { describe, expect, it } from '@jest/globals';
import { validate } from 'class-validator';
import { IsPlainEmail } from './email.js';

class Sample {
  @IsPlainEmail()
  email: string;
}

async function accepts(email: string): Promise<boolean> {
  return (await validate(Object.assign(new Sample(), { email }))).length === 0;
}

describe(IsPlainEmail.name, () => {
  it('accepts a plain ASCII address', async () => {
    expect(await accepts('marie.curie@example.org')).toBe(true);
  });

  // validator's isEmail refuses IP domains unless told otherwise, and IsPlainEmail does not tell it.
  it.each(['someone@127.0.0.1', 'someone@[127.0.0.1]', 'someone@[IPv6:::1]'])('refuses the IP-literal domain %s', async (email) => {
    expect(await accepts(email)).toBe(false);
  });

  it.each(['Marie <marie@example.org>', 'marie\u200b@example.org', 'marié@example.org', '"marie"@example.org'])(
    'refuses %j (display names, invisible and non-ASCII characters, quoted local parts)',
    async (email) => {
      expect(await accepts(email)).toBe(false);
    },
  );
});
