import { ApiProperty } from '@nestjs/swagger';
import { IsString, Length, Matches, MaxLength } from 'class-validator';
import { IsPlainEmail } from '../../common/email.js';

export class CreateDoctorDto {
  @ApiProperty({ minLength: 1, maxLength: 200, example: 'Dr. Ada Byron' })
  @IsString()
  @Length(1, 200)
  @Matches(/\S/, { message: 'name must not be blank' })
  name: string;

  @ApiProperty({ minLength: 1, maxLength: 200, example: 'Cardiology' })
  @IsString()
  @Length(1, 200)
  @Matches(/\S/, { message: 'specialization must not be blank' })
  specialization: string;

  @ApiProperty({ format: 'email', maxLength: 254, example: 'ada.byron@clinic.example', description: 'Unique regardless of case.' })
  @IsString()
  @MaxLength(254)
  @IsPlainEmail()
  email: string;

  @ApiProperty({ pattern: '^[0-9]{10}$', example: '5551234567', description: 'Exactly 10 digits.' })
  @IsString()
  @Matches(/^[0-9]{10}$/, { message: 'phone must be exactly 10 digits' })
  phone: string;
}
