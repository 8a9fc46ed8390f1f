import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Length, Matches, Max, MaxLength, Min } from 'class-validator';
import { GENDERS, type Gender } from '../patient.entity.js';

/** Gender arrives in any case and is stored lowercase. */
export const lowercase = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.toLowerCase() : value);

export class CreatePatientDto {
  @ApiProperty({ minLength: 1, maxLength: 200, example: 'Grace Hopper' })
  @IsString()
  @Length(1, 200)
  @Matches(/\S/, { message: 'name must not be blank' })
  name: string;

  @ApiProperty({ type: 'integer', minimum: 0, maximum: 150, example: 42 })
  @IsInt()
  @Min(0)
  @Max(150)
  age: number;

  @ApiProperty({ enum: GENDERS, example: 'female', description: 'Case-insensitive on input; stored and returned lowercase.' })
  @Transform(lowercase)
  @IsIn(GENDERS, { message: `gender must be one of: ${GENDERS.join(', ')}` })
  gender: Gender;

  @ApiPropertyOptional({ maxLength: 500, example: '12 Harbour Road, Arlington', default: '' })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  address?: string;
}
