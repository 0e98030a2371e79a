import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';

export const LOG_LEVELS = ['error', 'warn', 'log', 'debug', 'verbose'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

type PropertyDecorators = PropertyDecorator[];
const compose =
  (decorators: PropertyDecorators): PropertyDecorator =>
  (target, key) =>
    decorators.forEach((decorate) => decorate(target, key));

/** An integer variable in [min, max]; the message names the variable and the range it accepts. */
function IntRange(name: string, min: number, max = Number.MAX_SAFE_INTEGER): PropertyDecorator {
  const message = max === Number.MAX_SAFE_INTEGER ? `${name} must be an integer >= ${min}` : `${name} must be an integer between ${min} and ${max}`;
  return compose([
    Transform(({ value }) => (value === undefined ? undefined : Number(value))),
    IsInt({ message }),
    Min(min, { message }),
    Max(max, { message }),
  ]);
}

function Bool(name: string): PropertyDecorator {
  const parse = ({ value }: { value: unknown }) => ({ true: true, '1': true, false: false, '0': false })[String(value)] ?? value;
  return compose([Transform(parse), IsBoolean({ message: `${name} must be true or false` })]);
}

/** Empty strings mean "unset", so `API_KEY=` in a file does not enable an empty key. */
function OptionalString(): PropertyDecorator {
  return compose([Transform(({ value }) => (value === '' ? undefined : value)), IsOptional(), IsString()]);
}

/** Every environment variable the service reads, with what it accepts. Defaults live in config/defaults.env. */
export class EnvDto {
  @IntRange('PORT', 1, 65535)
  PORT: number;

  @IsString()
  HOST: string;

  @Matches(/^\d+(b|kb|mb|gb)?$/i, { message: 'HTTP_BODY_LIMIT must be a byte count or a size such as 50mb' })
  HTTP_BODY_LIMIT: string;

  @OptionalString()
  API_KEY?: string;

  @IsIn(LOG_LEVELS, { message: `LOG_LEVEL must be one of: ${LOG_LEVELS.join(', ')}` })
  LOG_LEVEL: LogLevel;

  @OptionalString()
  @Matches(/^postgres(ql)?:\/\//, { message: 'DATABASE_URL must be a postgres:// or postgresql:// URL' })
  DATABASE_URL?: string;

  @IntRange('DATABASE_POOL_SIZE', 1, 1000)
  DATABASE_POOL_SIZE: number;

  @Bool('DATABASE_MIGRATIONS_RUN')
  DATABASE_MIGRATIONS_RUN: boolean;

  @Bool('DATABASE_LOGGING')
  DATABASE_LOGGING: boolean;

  @IsString()
  EMBEDDED_PG_DATA_DIR: string;

  @IntRange('EMBEDDED_PG_PORT', 1, 65535)
  EMBEDDED_PG_PORT: number;

  @IntRange('TASK_MAX_CHUNKS_PER_REQUEST', 1)
  TASK_MAX_CHUNKS_PER_REQUEST: number;

  @IntRange('HEALTH_CHECK_TIMEOUT_MS', 100, 60000)
  HEALTH_CHECK_TIMEOUT_MS: number;
}
