/**
 * Providers and credentials shaped as the server sends them
 * (`GET providers`, `GET credentials`), for the tests.
 */
import type { ICredential, IProvider } from '../api';

export const OPENAI: IProvider = {
  name: 'openai',
  display_name: 'OpenAI',
  modalities: ['language', 'embedding'],
  docs_url: 'https://platform.openai.com/api-keys',
  env_configured: false,
  requires_api_key: true,
  connection_test: true,
  fields: [
    {
      name: 'api_key',
      label: 'API key',
      required: true,
      secret: true,
      type: 'text'
    },
    {
      name: 'base_url',
      label: 'Base URL',
      required: false,
      secret: false,
      type: 'url'
    }
  ]
};

export const OLLAMA: IProvider = {
  name: 'ollama',
  display_name: 'Ollama',
  modalities: ['language', 'embedding'],
  docs_url: null,
  env_configured: false,
  requires_api_key: false,
  connection_test: true,
  fields: [
    {
      name: 'api_key',
      label: 'API key',
      required: false,
      secret: true,
      type: 'text'
    },
    {
      name: 'base_url',
      label: 'Base URL',
      required: true,
      secret: false,
      type: 'url',
      prefill: 'http://localhost:11434'
    },
    {
      name: 'num_ctx',
      label: 'Context window',
      required: false,
      secret: false,
      type: 'integer'
    }
  ]
};

export const VERTEX: IProvider = {
  name: 'vertex',
  display_name: 'Google Vertex AI',
  modalities: ['language'],
  docs_url: null,
  env_configured: false,
  requires_api_key: false,
  connection_test: false,
  fields: [
    {
      name: 'project',
      label: 'Project',
      required: true,
      secret: false,
      type: 'text'
    },
    {
      name: 'credentials_path',
      label: 'Service account file',
      required: false,
      secret: false,
      type: 'text'
    }
  ]
};

let counter = 0;

/** A credential as `GET credentials` lists it; `overrides` replace fields. */
export function credential(overrides: Partial<ICredential> = {}): ICredential {
  counter++;
  return {
    id: `credential:${counter.toString(16).padStart(20, '0')}`,
    name: `Work ${counter}`,
    provider: 'openai',
    modalities: ['language'],
    base_url: null,
    endpoint: null,
    api_version: null,
    endpoint_llm: null,
    endpoint_embedding: null,
    endpoint_stt: null,
    endpoint_tts: null,
    project: null,
    location: null,
    credentials_path: null,
    num_ctx: null,
    key_access: 'read',
    has_api_key: true,
    api_key_hint: '••••abcd',
    created: '2024-05-01T10:00:00Z',
    updated: '2024-05-01T10:00:00Z',
    model_count: 0,
    decryption_error: null,
    ...overrides
  };
}
