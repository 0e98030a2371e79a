import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class FieldErrorDto {
  @ApiProperty({ description: 'The path of the refused field', example: 'chunks.0.text' })
  field: string;

  @ApiProperty({ example: 'chunks.0.text must not be empty' })
  message: string;
}

/** The error body of every 4xx and 5xx of the service's own routes (the OpenAI and TEI dialects answer theirs). */
export class ErrorResponseDto {
  @ApiProperty({ example: 400 })
  statusCode: number;

  @ApiProperty({
    description: 'What went wrong, always one string (for a validation error, its field errors joined by "; ")',
    example: 'chunks.0.text must not be empty',
  })
  message: string;

  @ApiProperty({ example: 'Bad Request' })
  error: string;

  @ApiPropertyOptional({
    type: [FieldErrorDto],
    description: 'Validation errors only: one entry per refused field',
  })
  errors?: FieldErrorDto[];
}
