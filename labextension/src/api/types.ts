/**
 * The JSON the server extension's API sends and accepts, as
 * `open_notebook_ext/openapi.yaml` describes it.
 *
 * Each interface names the schema it mirrors with a `@schema` JSON pointer
 * into that file; `src/__tests__/types.spec.ts` checks every one against the
 * spec: the same field names, optional exactly where the schema does not
 * require a field, `| null` exactly where the schema allows null, and the same
 * basic types and enums. An interface added here without `@schema` fails it.
 */

export type FieldType = 'text' | 'url' | 'integer';

/** @schema #/components/schemas/ProviderField */
export interface IProviderField {
  name: string;
  label: string;
  required: boolean;
  secret: boolean;
  type: FieldType;
  /** A value the add form starts with (Ollama's base URL); the user may change it. */
  prefill?: string;
}

/**
 * One supported provider and the fields its credentials have (`GET providers`).
 *
 * @schema #/components/schemas/Provider
 */
export interface IProvider {
  name: string;
  display_name: string;
  modalities: string[];
  docs_url?: string | null;
  env_configured: boolean;
  requires_api_key: boolean;
  fields: IProviderField[];
  /** `POST credentials/{id}/test` can test this provider's credentials. */
  connection_test: boolean;
}

/** Who may use a credential's key: `secrets.get` and the proxy, or the proxy only. */
export type KeyAccess = 'read' | 'proxy';

export type KeySource = 'env' | 'file' | 'config' | 'generated' | 'none';

export type KeyCheck = 'ok' | 'mismatch' | 'not_configured';

export type KernelIsolation = 'none' | 'gateway';

/** @schema #/components/schemas/CredentialStatus/properties/counts */
export interface IStatusCounts {
  total: number;
  by_provider: Record<string, number>;
  undecryptable: number;
}

/**
 * Encryption status and counts (`GET credentials/status`).
 *
 * @schema #/components/schemas/CredentialStatus
 */
export interface IStatus {
  encryption_configured: boolean;
  key_source: KeySource;
  key_file?: string | null;
  key_check: KeyCheck;
  configured: Record<string, boolean>;
  source: Record<string, 'database' | 'none'>;
  counts: IStatusCounts;
  /** `none`: kernels run as the server's OS user; `gateway`: on a Kernel Gateway. */
  kernel_isolation: KernelIsolation;
  non_dumpable: boolean;
}

/**
 * A stored credential, never its key (`GET credentials`).
 *
 * @schema #/components/schemas/Credential
 */
export interface ICredential {
  id: string;
  name: string;
  provider: string;
  modalities: string[];
  base_url?: string | null;
  endpoint?: string | null;
  api_version?: string | null;
  endpoint_llm?: string | null;
  endpoint_embedding?: string | null;
  endpoint_stt?: string | null;
  endpoint_tts?: string | null;
  project?: string | null;
  location?: string | null;
  credentials_path?: string | null;
  num_ctx?: number | null;
  /** "proxy": only the provider proxy uses the key; no endpoint returns it. */
  key_access: KeyAccess;
  has_api_key: boolean;
  api_key_hint: string | null;
  created: string;
  updated: string;
  model_count: number;
  decryption_error: string | null;
  /**
   * Only on a credential a hub group shares (JupyterHub service mode): used through
   * the proxy, read-only for members; an admin of the service manages it.
   */
  shared?: true;
  /** With `shared`: the hub group that owns it. */
  group?: string;
}

/** @schema #/components/schemas/CredentialDeleteResponse */
export interface ICredentialDeleteResponse {
  message: string;
  deleted_models: number;
}

/**
 * The outcome of `POST credentials/{id}/test`.
 *
 * @schema #/paths/~1credentials~1{credential_id}~1test/post/responses/200/content/application~1json/schema
 */
export interface ITestResult {
  provider: string;
  success: boolean;
  message: string;
}

/**
 * A notebook allowed to read a credential's key (`GET grants`).
 *
 * @schema #/components/schemas/Grant
 */
export interface IGrant {
  id: string;
  credential_id: string;
  credential_name: string;
  provider: string;
  notebook_path: string;
  created: string;
}

/**
 * What `DELETE grants/{id}` answers: the revoked grant.
 *
 * @schema #/paths/~1grants~1{grant_id}/delete/responses/200/content/application~1json/schema
 */
export interface IRevokedGrant extends IGrant {
  message?: string;
}

/**
 * One audit event (`GET audit`); which fields are present depends on the kind.
 *
 * @schema #/components/schemas/AuditEvent
 */
export interface IAuditEvent {
  kind: 'credential' | 'grant' | 'auth' | 'rotation' | 'budget' | 'prompt';
  action: string;
  time: string | null;
  user?: string;
  owner?: string;
  client?: string;
  credential_id?: string;
  credential_name?: string;
  provider?: string;
  notebook_path?: string;
  kernel_id?: string;
  success?: boolean;
  reason?: string;
  /** How a grant was given ("prompt": answered in the page's dialog). */
  via?: string;
  method?: string;
  path?: string;
  retry_after?: number;
  re_encrypted?: number;
  already_current?: number;
  undecryptable?: number;
  undecryptable_ids?: string[];
  source?: string;
}

/**
 * One group of provider proxy usage (`GET usage`): here, one credential's.
 *
 * @schema #/components/schemas/Usage/properties/rows/items
 */
export interface IUsageRow {
  credential?: string;
  credential_name?: string | null;
  notebook?: string | null;
  model?: string | null;
  provider?: string | null;
  day?: string;
  requests: number;
  errors: number;
  input_tokens: number;
  output_tokens: number;
  mean_latency_ms: number;
}

/**
 * What `GET usage` answers.
 *
 * @schema #/components/schemas/Usage
 */
export interface IUsage {
  group_by: 'credential' | 'notebook' | 'model' | 'day';
  since: string;
  rows: IUsageRow[];
}

/**
 * One field the server refused (`errors` of a 409 or 422 answer).
 *
 * @schema #/components/schemas/ValidationError/properties/errors/items
 */
export interface IFieldError {
  field: string;
  message: string;
}

/** A JSON value the create / update endpoints accept for a field. */
export type FieldValue = string | number | null;

/**
 * The body of `POST credentials` / `PUT credentials/{id}`
 * (CredentialCreate / CredentialUpdate): which fields it has depends on the
 * provider's field list, so it is a record rather than an interface.
 */
export type CredentialPayload = Record<string, FieldValue | string[]>;

/**
 * The body of `PUT grants`.
 *
 * @schema #/paths/~1grants/put/requestBody/content/application~1json/schema
 */
export interface IGrantRequest {
  credential_id: string;
  notebook_path: string;
}

/**
 * One provider whose variables are set in an environment or a `.env` file
 * (`GET credentials/env-import`): variable names, never values.
 *
 * @schema #/components/schemas/EnvImportProvider
 */
export interface IEnvImportProvider {
  provider: string;
  display_name: string;
  variables: string[];
  configured: boolean;
  credentials: number;
}

/**
 * What `GET credentials/env-import` answers.
 *
 * @schema #/components/schemas/EnvImportListing
 */
export interface IEnvImportListing {
  environment: IEnvImportProvider[];
  dotenv: { path: string; exists: boolean; providers: IEnvImportProvider[] };
}

/**
 * What `POST credentials/migrate-from-env` answers.
 *
 * @schema #/components/schemas/EnvImportResult
 */
export interface IEnvImportResult {
  message: string;
  migrated: string[];
  skipped: string[];
  not_configured: string[];
  errors: string[];
  credentials: {
    id: string;
    name: string;
    provider: string;
    api_key_hint: string | null;
  }[];
}

/**
 * What `POST credentials/import-dotenv` answers: the import, and what was
 * taken out of the file.
 *
 * @schema #/paths/~1credentials~1import-dotenv/post/responses/200/content/application~1json/schema
 */
export interface IDotenvImportResult extends IEnvImportResult {
  dotenv_removed: boolean;
  dotenv_variables_removed: string[];
}

/** Where an import reads from: the server's environment or the `.env` file. */
export type EnvImportSource = 'environment' | 'dotenv';
