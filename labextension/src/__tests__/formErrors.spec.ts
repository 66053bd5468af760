import { nullTranslator } from '@jupyterlab/translation';

import { ApiError } from '../api';
import { placeServerErrors } from '../model';

const trans = nullTranslator.load('open_notebook_ext');
const known = ['name', 'provider', 'api_key', 'base_url'];

describe('placeServerErrors', () => {
  it('puts each known field error next to its field', () => {
    const error = new ApiError(422, 'Invalid fields', [
      { field: 'body.base_url', message: 'must be a URL' },
      { field: 'name', message: 'must not be blank' },
      { field: 'name', message: 'a second message for name' }
    ]);
    expect(placeServerErrors(error, known, trans)).toEqual({
      fields: { base_url: 'must be a URL', name: 'must not be blank' },
      form: 'name: a second message for name'
    });
  });

  it('says the fields are marked when all of them are placed', () => {
    const error = new ApiError(422, 'Invalid fields', [
      { field: 'base_url', message: 'must be a URL' }
    ]);
    expect(placeServerErrors(error, known, trans).form).toBe(
      'The server did not accept the fields marked below.'
    );
  });

  it('lists unknown fields above the form', () => {
    const error = new ApiError(422, 'Invalid fields', [
      { field: 'region', message: 'unknown' },
      { field: '', message: 'body is not an object' }
    ]);
    expect(placeServerErrors(error, known, trans)).toEqual({
      fields: {},
      form: 'region: unknown; body is not an object'
    });
  });

  it('reads a 409 on the name as a name already used', () => {
    const error = new ApiError(
      409,
      'A credential named "Work" already exists for openai',
      [{ field: 'name', message: 'already exists' }]
    );
    expect(placeServerErrors(error, known, trans)).toEqual({
      fields: {
        name: 'is already used by another credential of this provider'
      },
      form: 'A credential named "Work" already exists for openai'
    });
  });

  it('shows provider ids in messages as the labels it is given', () => {
    const label = (id: string) => (id === 'openai' ? 'OpenAI' : id);
    const error = new ApiError(422, 'Invalid fields', [
      { field: 'api_key', message: 'is required for provider openai' },
      { field: 'region', message: 'is not used by provider mystery' }
    ]);
    expect(placeServerErrors(error, known, trans, label)).toEqual({
      fields: { api_key: 'is required for OpenAI' },
      form: 'region: is not used by provider mystery'
    });
  });

  it('shows the detail of an error without fields', () => {
    const mismatch = new ApiError(
      409,
      'The encryption key does not match the database'
    );
    expect(placeServerErrors(mismatch, known, trans)).toEqual({
      fields: {},
      form: 'The encryption key does not match the database'
    });
  });
});
