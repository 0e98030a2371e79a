import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { BadRequestException } from '@nestjs/common';
import { TextField } from './validation';
import { fieldErrors, validationException } from './validation-errors';

class Body {
  @TextField({ description: 'a name', maxLength: 500 })
  name: string;
  @TextField({ description: 'a model', maxLength: 500 })
  model: string;
}

const errorsOf = async (body: object) => {
  const dto = plainToInstance(Body, body);
  return validate(dto, { whitelist: true, forbidNonWhitelisted: true });
};

describe('validation errors', () => {
  it('names a missing field "<field> is required", and a present but wrong one by its rule', async () => {
    const fields = fieldErrors(await errorsOf({ name: 'n', model: 7 }));
    expect(fields.map((error) => error.field)).toEqual(fields.map(() => 'model'));
    expect(fields.map((error) => error.message)).toContain('model must be a string');
    expect(fields.map((error) => error.message)).not.toContain('model is required');
    expect(fieldErrors(await errorsOf({ name: 'n' }))).toEqual([{ field: 'model', message: 'model is required' }]);
  });

  it('names a key that should not be there, even without a value', async () => {
    expect(fieldErrors(await errorsOf({ name: 'n', model: 'm', extra: undefined, other: 1 }))).toEqual([
      { field: 'extra', message: 'property extra should not exist' },
      { field: 'other', message: 'property other should not exist' },
    ]);
  });

  it('answers one 400 whose message is a string and whose field errors are apart', async () => {
    const exception = validationException(await errorsOf({}));
    expect(exception).toBeInstanceOf(BadRequestException);
    expect(exception.getResponse()).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'name is required; model is required',
      errors: [
        { field: 'name', message: 'name is required' },
        { field: 'model', message: 'model is required' },
      ],
    });
  });
});
