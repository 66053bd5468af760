import { nullTranslator } from '@jupyterlab/translation';
import { act, renderHook } from '@testing-library/react';

import { CredentialsClient, IEnvImportListing } from '../api';
import { useEnvImport } from '../model';
import { FakeServer, json, settle } from './fakeServer';

const trans = nullTranslator.load('open_notebook_ext');

const LISTING: IEnvImportListing = {
  environment: [
    {
      provider: 'openai',
      display_name: 'OpenAI',
      variables: ['OPENAI_API_KEY', 'OPENAI_BASE_URL'],
      configured: true,
      credentials: 0
    },
    {
      provider: 'anthropic',
      display_name: 'Anthropic',
      variables: ['ANTHROPIC_API_KEY'],
      configured: true,
      credentials: 1
    },
    {
      provider: 'azure',
      display_name: 'Azure OpenAI',
      variables: ['AZURE_OPENAI_API_KEY'],
      configured: false,
      credentials: 0
    }
  ],
  dotenv: {
    path: '.env',
    exists: true,
    providers: [
      {
        provider: 'groq',
        display_name: 'Groq',
        variables: ['GROQ_API_KEY'],
        configured: true,
        credentials: 0
      }
    ]
  }
};

function result(migrated: string[]) {
  return {
    message: `Migration complete. Migrated ${migrated.length} providers.`,
    migrated,
    skipped: [],
    not_configured: [],
    errors: [],
    credentials: []
  };
}

describe('useEnvImport', () => {
  function setup() {
    const server = new FakeServer();
    server.on('GET', /^credentials\/env-import$/, json(LISTING));
    const client = new CredentialsClient(server.settings);
    const options = { onImported: jest.fn(), onSessionExpired: jest.fn() };
    const hook = renderHook(() => useEnvImport(client, trans, options));
    return { server, options, ...hook };
  }

  it('lists the names found and picks the importable providers', async () => {
    const { server, result: hook } = setup();
    expect(hook.current.open).toBe(false);
    await act(() => hook.current.show());
    await settle(server);
    expect(hook.current.open).toBe(true);
    expect(hook.current.listing).toEqual(LISTING);
    // anthropic has a credential, azure is incomplete
    expect(hook.current.selected).toEqual({
      environment: ['openai'],
      dotenv: ['groq']
    });
  });

  it('imports the chosen providers only, then reports them', async () => {
    const { server, result: hook, options } = setup();
    server.on(
      'POST',
      /^credentials\/migrate-from-env$/,
      json(result(['openai']))
    );
    await act(() => hook.current.show());
    act(() => hook.current.toggle('environment', 'openai'));
    expect(hook.current.selected.environment).toEqual([]);
    // nothing picked: nothing sent
    await act(() => hook.current.importSelected('environment'));
    expect(server.calls()).toEqual(['GET credentials/env-import']);
    act(() => hook.current.toggle('environment', 'openai'));
    await act(() => hook.current.importSelected('environment'));
    const sent = server.requests[1];
    expect(sent.method).toBe('POST');
    expect(sent.path).toBe('credentials/migrate-from-env');
    expect(sent.body).toEqual({ providers: ['openai'] });
    expect(options.onImported).toHaveBeenCalledWith('Imported openai.');
    expect(hook.current.open).toBe(false);
  });

  it('edits .env only when asked', async () => {
    const { server, result: hook } = setup();
    server.on('POST', /^credentials\/import-dotenv$/, json(result(['groq'])));
    await act(() => hook.current.show());
    await act(() => hook.current.importSelected('dotenv'));
    expect(server.requests[1].body).toEqual({
      providers: ['groq'],
      remove_imported: false
    });
    await act(() => hook.current.show());
    act(() => hook.current.setRemoveFromDotenv(true));
    await act(() => hook.current.importSelected('dotenv'));
    expect(server.requests[3].body).toEqual({
      providers: ['groq'],
      remove_imported: true
    });
  });

  it('keeps a refusal as text and hands a 401 over', async () => {
    const { server, result: hook, options } = setup();
    server.on(
      'POST',
      /^credentials\/migrate-from-env$/,
      json(
        { detail: 'openai.base_url: must be an http:// or https:// URL' },
        422
      ),
      1
    );
    await act(() => hook.current.show());
    await act(() => hook.current.importSelected('environment'));
    expect(hook.current.error).toBe(
      'Could not import: openai.base_url: must be an http:// or https:// URL'
    );
    expect(hook.current.open).toBe(true);
    expect(options.onImported).not.toHaveBeenCalled();
    server.on('GET', /^credentials\/env-import$/, json({ detail: 'no' }, 401));
    await act(() => hook.current.show());
    expect(options.onSessionExpired).toHaveBeenCalledTimes(1);
    expect(hook.current.open).toBe(false);
  });
});
