import { ApiProperty } from '@nestjs/swagger';

/** Nest's error body, as every 4xx and 5xx of this API returns it. */
export class ErrorResponseDto {
  @ApiProperty({ example: 400 })
  statusCode: number;

  @ApiProperty({
    description: 'What went wrong; validation errors list one message per field',
    oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
    example: ['chunks.0.text must not be empty'],
  })
  message: string | string[];

  @ApiProperty({ example: 'Bad Request' })
  error: string;
}
