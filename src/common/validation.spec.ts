import { describe, expect, it } from '@jest/globals';
import type { ArgumentMetadata, ValidationError } from '@nestjs/common';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, Min, ValidateNested } from 'class-validator';
import { ValidationFailedException } from './problem.js';
import { createValidationPipe, flattenValidationErrors, MAX_LISTED_UNKNOWN_FIELDS } from './validation.js';

class AddressDto {
  @IsString()
  city: string;
}

class SampleDto {
  @IsString()
  name: string;

  @IsInt()
  @Min(0)
  @Max(150)
  age: number;

  @IsOptional()
  @ValidateNested()
  @Type(() => AddressDto)
  home?: AddressDto;
}

class OptionalDto {
  @IsOptional()
  @IsString()
  note?: string;
}

const body = (metatype: new () => unknown): ArgumentMetadata => ({ type: 'body', metatype, data: undefined });

/** Runs the global pipe and returns what it threw. */
async function rejection(value: unknown, metatype: new () => unknown = SampleDto): Promise<ValidationFailedException> {
  const pipe = createValidationPipe();
  try {
    await pipe.transform(value, body(metatype));
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationFailedException);
    return error as ValidationFailedException;
  }
  throw new Error(`accepted ${JSON.stringify(value)}`);
}

describe(flattenValidationErrors.name, () => {
  it('maps each field to its messages and nested fields to dotted paths', () => {
    const errors: ValidationError[] = [
      { property: 'name', constraints: { isString: 'name must be a string' }, children: [] },
      {
        property: 'home',
        children: [{ property: 'city', constraints: { isString: 'city must be a string', isNotEmpty: 'city is empty' }, children: [] }],
      },
    ];
    expect(flattenValidationErrors(errors)).toEqual({
      name: ['name must be a string'],
      // Reversed: class-validator lists a property's rules bottom-up.
      'home.city': ['city is empty', 'city must be a string'],
    });
  });

  it('says plainly that an unknown field is not allowed', () => {
    const errors: ValidationError[] = [
      { property: 'owner', constraints: { whitelistValidation: 'property owner should not exist' }, children: [] },
    ];
    expect(flattenValidationErrors(errors)).toEqual({ owner: ['owner is not an allowed field'] });
  });
});

describe(createValidationPipe.name, () => {
  it('returns an instance of the DTO for a valid body', async () => {
    const value = await createValidationPipe().transform({ name: 'Ada', age: 36, home: { city: 'London' } }, body(SampleDto));
    expect(value).toBeInstanceOf(SampleDto);
    expect(value).toEqual({ name: 'Ada', age: 36, home: { city: 'London' } });
  });

  it('reports every bad field at once', async () => {
    const error = await rejection({ name: 1, age: 200 });
    expect(Object.keys(error.errors).sort()).toEqual(['age', 'name']);
    expect(error.message).toBe('The request is invalid; see errors for each field.');
  });

  it('names unknown fields, top-level and nested, in errors and detail', async () => {
    const error = await rejection({ name: 'Ada', age: 3, owner: 'x', is_admin: true, home: { city: 'Oslo', zip: '1' } });
    expect(error.errors).toEqual({
      owner: ['owner is not an allowed field'],
      is_admin: ['is_admin is not an allowed field'],
      'home.zip': ['zip is not an allowed field'],
    });
    expect(error.message).toBe('Unknown field(s): owner, is_admin.');
  });

  it(`lists at most ${MAX_LISTED_UNKNOWN_FIELDS} unknown fields and says how many more there were`, async () => {
    const extra = Object.fromEntries(Array.from({ length: 63 }, (_, i) => [`k${i}${'x'.repeat(2000)}`, i]));
    const error = await rejection({ name: 'Ada', age: 'old', ...extra });
    const unknown = Object.keys(error.errors).filter((k) => k !== 'age');
    expect(unknown).toHaveLength(MAX_LISTED_UNKNOWN_FIELDS);
    expect(error.errors.age).toBeDefined();
    expect(error.message).toMatch(/^Unknown field\(s\): k0x+…, .* and 53 more\.$/);
    // Names are cut: the whole error stays small whatever the keys' length.
    expect(JSON.stringify({ detail: error.message, errors: error.errors }).length).toBeLessThan(4000);
  });

  it.each([['"25"', '25'], ['1.5', 1.5], ['true', true], ['null', null], ['Infinity', Number.POSITIVE_INFINITY], ['NaN', Number.NaN]])(
    'converts nothing implicitly: age %s is refused',
    async (_label, age) => {
      const error = await rejection({ name: 'Ada', age });
      expect(Object.keys(error.errors)).toEqual(['age']);
    },
  );

  it('accepts -0 and 1e2 as the integers they are', async () => {
    const zero = (await createValidationPipe().transform({ name: 'Ada', age: -0 }, body(SampleDto))) as SampleDto;
    expect(zero.age === 0).toBe(true);
    const hundred = (await createValidationPipe().transform(JSON.parse('{"name":"Ada","age":1e2}'), body(SampleDto))) as SampleDto;
    expect(hundred.age).toBe(100);
  });

  it.each([[[]], [[{ name: 'Ada', age: 3 }]], ['text'], [42], [true]])('refuses a body that is not an object: %j', async (value) => {
    await rejection(value);
    // Even for a DTO whose fields are all optional.
    await rejection(value, OptionalDto);
  });

  it('never puts the submitted value or validator internals into the error', async () => {
    const error = await rejection({ name: 'TOP-SECRET-VALUE', age: 'ALSO-SECRET', extra: 'SECRET-EXTRA' }, OptionalDto);
    const rendered = JSON.stringify({ message: error.message, errors: error.errors });
    expect(rendered).not.toMatch(/SECRET|constraints|target|children/);
  });
});
