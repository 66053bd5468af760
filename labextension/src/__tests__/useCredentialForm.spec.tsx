/**
 * The form's model: what it checks before sending, what it sends, where the
 * server's refusals go, and that the key it is handed stays out of its state.
 */
import { nullTranslator } from '@jupyterlab/translation';
import { act, renderHook } from '@testing-library/react';

import { CredentialsClient, ICredential } from '../api';
import {
  ICredentialFormOptions,
  initialValues,
  valuesForProvider,
  SubmitOutcome,
  useCredentialForm
} from '../model';
import { FakeServer, json } from './fakeServer';
import { credential, OLLAMA, OPENAI } from './fixtures';

const trans = nullTranslator.load('open_notebook_ext');
const KEY = 'sk-test-0123456789abcdef';

function setup(options: Partial<ICredentialFormOptions> = {}) {
  const server = new FakeServer();
  const client = new CredentialsClient(server.settings);
  const hook = renderHook(() =>
    useCredentialForm({
      client,
      trans,
      providers: [OPENAI, OLLAMA],
      keyMismatch: false,
      ...options
    })
  );
  const submit = async (apiKey: string) => {
    let outcome: SubmitOutcome | undefined;
    await act(async () => {
      outcome = await hook.result.current.submit(apiKey);
    });
    return outcome!;
  };
  return { server, submit, ...hook };
}

describe('initialValues', () => {
  it('takes the non-secret fields from the credential, empty when unset', () => {
    const c = credential({
      name: 'Local',
      base_url: 'http://h:11434',
      num_ctx: 8192
    });
    expect(initialValues(OLLAMA, c)).toEqual({
      name: 'Local',
      base_url: 'http://h:11434',
      num_ctx: '8192'
    });
    expect(initialValues(OPENAI)).toEqual({ name: '', base_url: '' });
    expect(initialValues(undefined)).toEqual({ name: '' });
  });

  it("starts an added credential with the provider's prefills, not an edited one", () => {
    expect(initialValues(OLLAMA)).toEqual({
      name: '',
      base_url: 'http://localhost:11434',
      num_ctx: ''
    });
    const c = credential({ base_url: null });
    expect(initialValues(OLLAMA, c).base_url).toBe('');
  });
});

describe('valuesForProvider', () => {
  it('keeps typed values, fills prefills, drops the old untouched prefill', () => {
    const ollama = initialValues(OLLAMA);
    expect(valuesForProvider({ ...ollama, name: 'A' }, OLLAMA, OPENAI)).toEqual(
      { name: 'A', base_url: '' }
    );
    const typed = { ...ollama, base_url: 'http://gpu:11434' };
    expect(valuesForProvider(typed, OLLAMA, OPENAI).base_url).toBe(
      'http://gpu:11434'
    );
    expect(
      valuesForProvider({ name: 'B', base_url: '' }, OPENAI, OLLAMA)
    ).toEqual({ name: 'B', base_url: 'http://localhost:11434', num_ctx: '' });
  });
});

describe('useCredentialForm, adding', () => {
  it('asks for a provider before anything is sent', async () => {
    const { server, submit, result } = setup();
    expect(result.current.editing).toBe(false);
    expect(result.current.provider).toBeUndefined();
    expect(await submit(KEY)).toEqual({ kind: 'invalid', focus: 'provider' });
    expect(result.current.errors).toEqual({ provider: 'is required' });
    expect(result.current.formError).toBe(
      'Please correct the fields marked below.'
    );
    expect(server.requests).toEqual([]);
  });

  it('creates a credential with the typed key, and keeps the key out of its state', async () => {
    const { server, submit, result } = setup();
    act(() => result.current.chooseProvider('openai'));
    act(() => result.current.setValue('name', ' Work '));
    expect(result.current.values).toEqual({ name: ' Work ', base_url: '' });
    const outcome = await submit(KEY);
    expect(outcome.kind).toBe('saved');
    const saved = (outcome as { credential: ICredential }).credential;
    expect(saved.name).toBe('Work');
    expect(outcome).toMatchObject({ created: true });
    expect(server.requests.map(r => r.body)).toEqual([
      { name: 'Work', provider: 'openai', api_key: KEY }
    ]);
    expect(result.current.saving).toBe(false);
    expect(JSON.stringify(result.current)).not.toContain(KEY);
    expect(JSON.stringify(saved)).not.toContain(KEY);
  });

  it('keeps what was typed when the provider changes, and clears errors', async () => {
    const { submit, result } = setup();
    act(() => result.current.chooseProvider('openai'));
    await submit('');
    expect(Object.keys(result.current.errors)).toEqual(['name', 'api_key']);
    act(() => result.current.setValue('name', 'Local'));
    expect(Object.keys(result.current.errors)).toEqual(['api_key']);
    act(() => result.current.chooseProvider('ollama'));
    expect(result.current.values).toEqual({
      name: 'Local',
      base_url: 'http://localhost:11434',
      num_ctx: ''
    });
    expect(result.current.errors).toEqual({});
    expect(result.current.formError).toBeNull();
    expect(result.current.labelOf('num_ctx')).toBe('Context window');
    expect(result.current.labelOf('name')).toBe('Name');
  });

  it('puts a 409 on the name next to the name', async () => {
    const { server, submit, result } = setup();
    server.on(
      'POST',
      /^credentials$/,
      json(
        {
          detail:
            'A credential with this name already exists for provider openai',
          errors: [{ field: 'name', message: 'already exists' }]
        },
        409
      )
    );
    act(() => result.current.chooseProvider('openai'));
    act(() => result.current.setValue('name', 'Work'));
    expect(await submit(KEY)).toEqual({ kind: 'invalid', focus: 'name' });
    expect(result.current.errors).toEqual({
      name: 'is already used by another credential of this provider'
    });
    // the provider's label, not its id
    expect(result.current.formError).toBe(
      'A credential with this name already exists for OpenAI'
    );
    expect(result.current.saving).toBe(false);
  });

  it('puts 422 field errors next to their fields', async () => {
    const { server, submit, result } = setup();
    server.on(
      'POST',
      /^credentials$/,
      json(
        {
          detail: 'Invalid fields',
          errors: [
            { field: 'body.base_url', message: 'resolves to a private address' }
          ]
        },
        422
      )
    );
    act(() => result.current.chooseProvider('ollama'));
    act(() => result.current.setValue('name', 'Local'));
    act(() => result.current.setValue('base_url', 'http://10.0.0.1:11434'));
    expect(await submit('')).toEqual({ kind: 'invalid', focus: 'base_url' });
    expect(result.current.errors).toEqual({
      base_url: 'resolves to a private address'
    });
  });

  it('hands a 401 back as an expired session', async () => {
    const { server, submit, result } = setup();
    server.on('POST', /^credentials$/, json({ detail: 'no' }, 401));
    act(() => result.current.chooseProvider('openai'));
    act(() => result.current.setValue('name', 'Work'));
    const outcome = await submit(KEY);
    expect(outcome.kind).toBe('expired');
    expect(
      (outcome as { error: { isUnauthenticated: boolean } }).error
        .isUnauthenticated
    ).toBe(true);
  });

  it('refuses a key while the encryption key does not match', async () => {
    const { server, submit, result } = setup({ keyMismatch: true });
    act(() => result.current.chooseProvider('openai'));
    act(() => result.current.setValue('name', 'Work'));
    expect(await submit(KEY)).toEqual({ kind: 'invalid', focus: 'api_key' });
    expect(server.requests).toEqual([]);
  });
});

describe('useCredentialForm, editing', () => {
  const stored = credential({
    name: 'Work',
    base_url: 'https://a.example/v1',
    has_api_key: true
  });

  it('starts from the credential and sends every field, no key unless typed', async () => {
    const { server, submit, result } = setup({ credential: stored });
    server.credentials.push({ ...stored });
    expect(result.current.editing).toBe(true);
    expect(result.current.provider).toBe(OPENAI);
    expect(result.current.values).toEqual({
      name: 'Work',
      base_url: 'https://a.example/v1'
    });
    act(() => result.current.setValue('name', 'Personal'));
    expect(result.current.moved).toEqual([]);
    expect(await submit('')).toMatchObject({ kind: 'saved', created: false });
    expect(server.requests.map(r => `${r.method} ${r.path}`)).toEqual([
      `PUT credentials/${encodeURIComponent(stored.id)}`
    ]);
    expect(server.requests[0].body).toEqual({
      name: 'Personal',
      base_url: 'https://a.example/v1'
    });
  });

  it('needs the key again when the base URL moves', async () => {
    const { server, submit, result } = setup({ credential: stored });
    server.credentials.push({ ...stored });
    act(() => result.current.setValue('base_url', 'https://b.example/v1'));
    expect(result.current.moved).toEqual(['base_url']);
    expect(await submit('')).toEqual({ kind: 'invalid', focus: 'api_key' });
    expect(result.current.errors.api_key).toMatch(
      /^is required because Base URL changed/
    );
    expect(server.requests).toEqual([]);
    expect(await submit(KEY)).toMatchObject({ kind: 'saved' });
    expect(server.requests[0].body).toEqual({
      name: 'Work',
      base_url: 'https://b.example/v1',
      api_key: KEY
    });
  });

  it('edits a credential whose provider the server no longer lists', () => {
    const orphan = credential({ provider: 'retired' });
    const { result } = setup({ credential: orphan });
    expect(result.current.provider).toMatchObject({
      name: 'retired',
      display_name: 'retired',
      fields: []
    });
    expect(result.current.values).toEqual({ name: orphan.name });
  });
});

describe('useCredentialForm, key access', () => {
  it('sends key_access only when it changes, and a proxy-only key can be created', async () => {
    const { server, submit, result } = setup();
    act(() => result.current.chooseProvider('openai'));
    act(() => result.current.setValue('name', 'Work'));
    expect(result.current.keyAccess).toBe('read');
    act(() => result.current.setKeyAccess('proxy'));
    expect((await submit(KEY)).kind).toBe('saved');
    expect(server.requests[0].body).toMatchObject({ key_access: 'proxy' });
  });

  it('leaves key_access out of an edit that does not change it', async () => {
    const c = credential({ name: 'Work', key_access: 'proxy' });
    const { server, submit, result } = setup({ credential: c });
    server.credentials.push(c);
    expect(result.current.keyAccess).toBe('proxy');
    act(() => result.current.setValue('name', 'Work 2'));
    expect((await submit('')).kind).toBe('saved');
    expect(server.requests[0].body).not.toHaveProperty('key_access');
  });

  it('places the server refusing proxy -> read without the key on the key field', async () => {
    const c = credential({ name: 'Work', key_access: 'proxy' });
    const { server, submit, result } = setup({ credential: c });
    server.on(
      'PUT',
      /^credentials\//,
      () =>
        json(
          {
            detail:
              'api_key: is required to turn key_access from proxy back to read',
            errors: [
              {
                field: 'api_key',
                message:
                  'is required to turn key_access from proxy back to read'
              }
            ]
          },
          422
        ),
      1
    );
    act(() => result.current.setKeyAccess('read'));
    const outcome = await submit('');
    expect(outcome).toEqual({ kind: 'invalid', focus: 'api_key' });
    expect(server.requests[0].body).toMatchObject({ key_access: 'read' });
    expect(result.current.errors.api_key).toMatch(/proxy back to read/);
  });
});
