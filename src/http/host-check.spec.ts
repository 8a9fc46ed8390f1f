import { describe, expect, it } from '@jest/globals';
import { hostAllowed } from './host-check.js';

const DEFAULT_HOSTS = ['localhost', '127.0.0.1', '[::1]'];

describe(hostAllowed.name, () => {
  it.each(['localhost', 'localhost:3000', 'LocalHost:8000', '127.0.0.1', '127.0.0.1:65535', '[::1]', '[::1]:3000', 'localhost.'])(
    'allows %j with the default list',
    (host) => {
      expect(hostAllowed(host, DEFAULT_HOSTS)).toBe(true);
    },
  );

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['another name', 'evil.example'],
    ['another name with an allowed port', 'evil.example:3000'],
    ['an allowed name as a prefix', 'localhost.evil.example'],
    ['an allowed name as a suffix', 'evil-localhost'],
    ['another IPv6 address', '[::2]:3000'],
    ['userinfo after an IPv6 address', '[::1]@evil.example'],
    ['text after an IPv6 address', '[::1]x'],
    ['an unclosed bracket', '[::1'],
    ['userinfo after a name', 'localhost@evil.example'],
    ['userinfo after a port', 'localhost:3000@evil.example'],
    ['a non-numeric port', 'localhost:abc'],
    ['an empty port', 'localhost:'],
    ['two ports', 'localhost:80:80'],
    ['a space', 'local host'],
    ['a path', 'localhost/evil'],
  ])('refuses a Host that is %s (%j)', (_kind, host) => {
    expect(hostAllowed(host, DEFAULT_HOSTS)).toBe(false);
  });

  it('a leading dot allows the domain and its subdomains, and nothing else', () => {
    const allowed = ['.clinic.example'];
    expect(hostAllowed('clinic.example', allowed)).toBe(true);
    expect(hostAllowed('api.clinic.example:443', allowed)).toBe(true);
    expect(hostAllowed('a.b.clinic.example', allowed)).toBe(true);
    expect(hostAllowed('evilclinic.example', allowed)).toBe(false);
    expect(hostAllowed('clinic.example.evil', allowed)).toBe(false);
  });

  it('an exact entry does not allow subdomains', () => {
    expect(hostAllowed('api.example.org', ['api.example.org'])).toBe(true);
    expect(hostAllowed('x.api.example.org', ['api.example.org'])).toBe(false);
  });

  it('"*" allows any well-formed Host, or none, but never a malformed one', () => {
    expect(hostAllowed('anything.example:1234', ['*'])).toBe(true);
    expect(hostAllowed('[2001:db8::1]:80', ['*'])).toBe(true);
    expect(hostAllowed(undefined, ['*'])).toBe(true);
    // It would end up in the absolute URLs of page links.
    expect(hostAllowed('[::1]@evil.example', ['*'])).toBe(false);
    expect(hostAllowed('a b', ['*'])).toBe(false);
  });

  it('an empty list allows nothing', () => {
    expect(hostAllowed('localhost', [])).toBe(false);
  });
});
