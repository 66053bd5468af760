import {
  buildPayload,
  MAX_KEY,
  MAX_NAME,
  MAX_NUM_CTX,
  MAX_TEXT,
  MAX_URL,
  movedFields,
  serverFieldName,
  urlError,
  validate
} from '../validation';
import { credential, OLLAMA, OPENAI, VERTEX } from './fixtures';

const adding = { editing: false, hasStoredKey: false };
const editingWithKey = { editing: true, hasStoredKey: true };

describe('validate', () => {
  it('asks for a provider first', () => {
    expect(validate(undefined, { name: 'Work' }, 'sk-1', adding)).toEqual({
      provider: 'is required'
    });
  });

  it('accepts a complete OpenAI credential', () => {
    expect(
      validate(OPENAI, { name: 'Work', base_url: '' }, 'sk-abc', adding)
    ).toEqual({});
  });

  it('says a blank name or key must not be blank', () => {
    expect(validate(OPENAI, { name: '   ' }, '  ', adding)).toEqual({
      name: 'must not be blank',
      api_key: 'must not be blank'
    });
  });

  it('limits the name and refuses control characters in it', () => {
    const long = 'n'.repeat(MAX_NAME + 1);
    expect(validate(OPENAI, { name: long }, 'k', adding).name).toBe(
      `must be at most ${MAX_NAME} characters`
    );
    expect(validate(OPENAI, { name: 'a\u0007b' }, 'k', adding).name).toBe(
      'must not contain control characters'
    );
    expect(validate(OPENAI, { name: 'a\u007fb' }, 'k', adding).name).toBe(
      'must not contain control characters'
    );
    expect(
      validate(OPENAI, { name: 'n'.repeat(MAX_NAME) }, 'k', adding)
    ).toEqual({});
  });

  it('never puts the key into a message', () => {
    const key = 'sk-' + 'x'.repeat(MAX_KEY);
    const errors = validate(OPENAI, { name: 'Work' }, key, adding);
    expect(errors.api_key).toBe(`must be at most ${MAX_KEY} characters`);
    const withControl = 'sk-secret\u0000value';
    const again = validate(OPENAI, { name: 'Work' }, withControl, adding);
    expect(again.api_key).toBe('must not contain control characters');
    for (const message of [...Object.values(errors), ...Object.values(again)]) {
      expect(message).not.toContain('sk-');
    }
  });

  it('keeps the stored key when editing with an empty key field', () => {
    expect(validate(OPENAI, { name: 'Work' }, '', editingWithKey)).toEqual({});
  });

  it('asks for a key when editing a credential that has none', () => {
    expect(
      validate(OPENAI, { name: 'Work' }, '', {
        editing: true,
        hasStoredKey: false
      })
    ).toEqual({ api_key: 'is required for this provider: enter a key' });
  });

  it('asks for the key again when the base URL moved', () => {
    const errors = validate(
      OPENAI,
      { name: 'Work', base_url: 'https://other.example' },
      '',
      { ...editingWithKey, moved: ['base_url'] }
    );
    expect(errors).toEqual({
      api_key:
        'is required because Base URL changed: a stored key is only sent to the address it was saved with'
    });
  });

  it('refuses a needed key while the encryption key does not match', () => {
    const message =
      'cannot be stored while the encryption key does not match the database';
    expect(
      validate(OPENAI, { name: 'Work' }, 'sk-1', {
        ...adding,
        keysBlocked: true
      })
    ).toEqual({ api_key: message });
    // Nothing to store: editing the name alone is fine.
    expect(
      validate(OPENAI, { name: 'Work' }, '', {
        ...editingWithKey,
        keysBlocked: true
      })
    ).toEqual({});
  });

  it('checks URL fields', () => {
    const values = (base_url: string) => ({ name: 'Local', base_url });
    const url = 'must be an http:// or https:// URL with a host';
    expect(validate(OLLAMA, values(''), '', adding)).toEqual({
      base_url: 'is required'
    });
    expect(validate(OLLAMA, values('localhost:11434'), '', adding)).toEqual({
      base_url: url
    });
    expect(validate(OLLAMA, values('ftp://host'), '', adding)).toEqual({
      base_url: url
    });
    expect(validate(OLLAMA, values('http://'), '', adding)).toEqual({
      base_url: url
    });
    expect(
      validate(OLLAMA, values('http://localhost:11434'), '', adding)
    ).toEqual({});
    expect(
      validate(
        OLLAMA,
        values(`https://h.example/${'p'.repeat(MAX_URL)}`),
        '',
        adding
      )
    ).toEqual({ base_url: `must be at most ${MAX_URL} characters` });
  });

  it('checks whole numbers and their range', () => {
    const values = (num_ctx: string) => ({
      name: 'Local',
      base_url: 'http://localhost:11434',
      num_ctx
    });
    expect(validate(OLLAMA, values('4096'), '', adding)).toEqual({});
    expect(validate(OLLAMA, values('0'), '', adding)).toEqual({});
    expect(validate(OLLAMA, values(' 12 '), '', adding)).toEqual({});
    for (const bad of ['abc', '-1', '1.5', '1e3']) {
      expect(validate(OLLAMA, values(bad), '', adding)).toEqual({
        num_ctx: 'must be a whole number'
      });
    }
    expect(
      validate(OLLAMA, values(String(MAX_NUM_CTX + 1)), '', adding)
    ).toEqual({ num_ctx: `must be between 1 and ${MAX_NUM_CTX}` });
  });

  it('gives the credentials path the URL length, other text the text length', () => {
    const values = { name: 'V', project: 'my-project' };
    expect(
      validate(
        VERTEX,
        { ...values, credentials_path: 'p'.repeat(MAX_URL) },
        '',
        adding
      )
    ).toEqual({});
    expect(
      validate(
        VERTEX,
        { ...values, project: 'p'.repeat(MAX_TEXT + 1) },
        '',
        adding
      )
    ).toEqual({ project: `must be at most ${MAX_TEXT} characters` });
    expect(validate(VERTEX, { name: 'V' }, '', adding)).toEqual({
      project: 'is required'
    });
  });
});

describe('urlError', () => {
  it('allows an empty optional URL only', () => {
    expect(urlError('', false)).toBeNull();
    expect(urlError(' ', true)).toBe('is required');
    expect(urlError(' https://api.example.com/v1 ', true)).toBeNull();
  });
});

describe('movedFields', () => {
  const stored = credential({ base_url: 'https://a.example' });

  it('lists the URL fields whose value changed', () => {
    expect(
      movedFields(OPENAI, { name: 'x', base_url: 'https://b.example' }, stored)
    ).toEqual(['base_url']);
    expect(
      movedFields(
        OPENAI,
        { name: 'x', base_url: ' https://a.example ' },
        stored
      )
    ).toEqual([]);
  });

  it('counts clearing a URL as a change', () => {
    expect(movedFields(OPENAI, { name: 'x', base_url: '' }, stored)).toEqual([
      'base_url'
    ]);
  });

  it('treats a missing field as empty', () => {
    const without = credential();
    delete without.base_url;
    expect(movedFields(OPENAI, { name: 'x', base_url: '' }, without)).toEqual(
      []
    );
  });

  it('ignores non-URL fields and missing inputs', () => {
    expect(
      movedFields(OLLAMA, { base_url: '', num_ctx: '8' }, credential())
    ).toEqual([]);
    expect(movedFields(undefined, {}, stored)).toEqual([]);
    expect(movedFields(OPENAI, {}, undefined)).toEqual([]);
  });
});

describe('buildPayload', () => {
  it('sends only the fields with a value when creating', () => {
    expect(
      buildPayload(OPENAI, { name: ' Work ', base_url: ' ' }, ' sk-1 ', false)
    ).toEqual({ name: 'Work', provider: 'openai', api_key: 'sk-1' });
  });

  it('sends every field when updating, null for an emptied one, no key unless typed', () => {
    expect(
      buildPayload(OPENAI, { name: 'Work', base_url: '' }, '', true)
    ).toEqual({ name: 'Work', base_url: null });
    expect(
      buildPayload(
        OPENAI,
        { name: 'Work', base_url: 'https://b.example' },
        'sk-2',
        true
      )
    ).toEqual({ name: 'Work', base_url: 'https://b.example', api_key: 'sk-2' });
  });

  it('sends numbers as numbers, 0 as unset', () => {
    const values = { name: 'L', base_url: 'http://localhost:11434' };
    expect(
      buildPayload(OLLAMA, { ...values, num_ctx: '4096' }, '', false)
    ).toEqual({ ...values, provider: 'ollama', num_ctx: 4096 });
    expect(buildPayload(OLLAMA, { ...values, num_ctx: '0' }, '', true)).toEqual(
      { ...values, num_ctx: null }
    );
  });
});

describe('serverFieldName', () => {
  it('takes the last part of a dotted location', () => {
    expect(serverFieldName('body.name')).toBe('name');
    expect(serverFieldName('base_url')).toBe('base_url');
    expect(serverFieldName('')).toBe('');
  });
});
