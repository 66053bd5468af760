/**
 * A small typed client for the server extension's credential API.
 *
 * Every request goes through `ServerConnection.makeRequest`, so the token,
 * the XSRF header and the base URL are handled exactly as JupyterLab does.
 * Request bodies may carry an API key: they are never logged or stored.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** The API namespace, relative to the server's base URL. */
export const API_PATH = 'open-notebook/api/';

/** The path the connection test endpoint has in the OpenAPI spec. */
export const TEST_PATH = '/credentials/{credential_id}/test';

export type FieldType = 'text' | 'url' | 'integer';

export interface IProviderField {
  name: string;
  label: string;
  required: boolean;
  secret: boolean;
  type: FieldType;
}

export interface IProvider {
  name: string;
  display_name: string;
  modalities: string[];
  docs_url: string | null;
  requires_api_key: boolean;
  fields: IProviderField[];
}

export type KeySource = 'env' | 'file' | 'config' | 'generated' | 'none';

export interface IStatus {
  encryption_configured: boolean;
  key_source: KeySource;
  key_file: string | null;
  key_check: 'ok' | 'mismatch' | 'not_configured';
  counts: {
    total: number;
    by_provider: Record<string, number>;
    undecryptable: number;
  };
}

export interface ICredential {
  id: string;
  name: string;
  provider: string;
  modalities: string[];
  base_url: string | null;
  has_api_key: boolean;
  api_key_hint: string | null;
  created: string;
  updated: string;
  decryption_error: string | null;
  [field: string]: unknown;
}

export interface ITestResult {
  provider: string;
  success: boolean;
  message: string;
}

/** A notebook allowed to read a credential's key (`GET grants`). */
export interface IGrant {
  id: string;
  credential_id: string;
  credential_name: string;
  provider: string;
  notebook_path: string;
  created: string;
}

/** One audit event (`GET audit`); which fields are present depends on the kind. */
export interface IAuditEvent {
  kind: 'credential' | 'grant' | 'auth' | 'rotation' | string;
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
  method?: string;
  path?: string;
  retry_after?: number;
  re_encrypted?: number;
  already_current?: number;
  undecryptable?: number;
}

/** A JSON value the create / update endpoints accept for a field. */
export type FieldValue = string | number | null;

export type CredentialPayload = Record<string, FieldValue | string[]>;

export interface IFieldError {
  field: string;
  message: string;
}

/**
 * An error answer of the API, or a failure to reach it.
 *
 * `status` is 0 when the server could not be reached at all.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly errors: IFieldError[] = []
  ) {
    super(detail);
    this.name = 'ApiError';
  }

  /** The session is gone: the token or login cookie is no longer accepted. */
  get isUnauthenticated(): boolean {
    return this.status === 401;
  }

  /** The server did not answer (stopped, network down). */
  get isNetwork(): boolean {
    return this.status === 0;
  }
}

const NETWORK_DETAIL =
  'Cannot reach the Jupyter server. Check that it is still running.';

/**
 * Read an error body of the form `{"detail": "...", "errors": [...]}`.
 *
 * Anything else (an HTML error page from a proxy, say) becomes a short
 * message with the status code, never the raw body.
 */
async function errorFrom(response: Response): Promise<ApiError> {
  let detail =
    `The server answered ${response.status} ${response.statusText}`.trim();
  let errors: IFieldError[] = [];
  try {
    const body = (await response.json()) as unknown;
    if (body && typeof body === 'object') {
      const record = body as Record<string, unknown>;
      if (typeof record.detail === 'string' && record.detail) {
        detail = record.detail;
      }
      if (Array.isArray(record.errors)) {
        errors = record.errors
          .filter(
            (e): e is IFieldError =>
              !!e &&
              typeof e === 'object' &&
              typeof (e as IFieldError).field === 'string' &&
              typeof (e as IFieldError).message === 'string'
          )
          .map(e => ({ field: e.field, message: e.message }));
      }
    }
  } catch {
    // Not JSON: keep the status line.
  }
  if (response.status === 401) {
    detail =
      'Your Jupyter session has expired or you are not logged in. Reload the page to sign in again.';
  }
  return new ApiError(response.status, detail, errors);
}

export class CredentialsClient {
  constructor(readonly serverSettings: ServerConnection.ISettings) {}

  private url(path: string): string {
    return URLExt.join(this.serverSettings.baseUrl, API_PATH, path);
  }

  private async request<T>(
    method: string,
    path: string,
    body?: CredentialPayload
  ): Promise<T> {
    const init: RequestInit = { method };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { 'Content-Type': 'application/json' };
    }
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(
        this.url(path),
        init,
        this.serverSettings
      );
    } catch {
      throw new ApiError(0, NETWORK_DETAIL);
    }
    if (!response.ok) {
      throw await errorFrom(response);
    }
    try {
      return (await response.json()) as T;
    } catch {
      throw new ApiError(
        response.status,
        'The server sent an answer that is not JSON.'
      );
    }
  }

  providers(): Promise<IProvider[]> {
    return this.request<IProvider[]>('GET', 'providers');
  }

  status(): Promise<IStatus> {
    return this.request<IStatus>('GET', 'credentials/status');
  }

  list(): Promise<ICredential[]> {
    return this.request<ICredential[]>('GET', 'credentials');
  }

  create(payload: CredentialPayload): Promise<ICredential> {
    return this.request<ICredential>('POST', 'credentials', payload);
  }

  update(id: string, payload: CredentialPayload): Promise<ICredential> {
    return this.request<ICredential>(
      'PUT',
      `credentials/${encodeURIComponent(id)}`,
      payload
    );
  }

  remove(id: string): Promise<unknown> {
    return this.request<unknown>(
      'DELETE',
      `credentials/${encodeURIComponent(id)}`
    );
  }

  test(id: string): Promise<ITestResult> {
    return this.request<ITestResult>(
      'POST',
      `credentials/${encodeURIComponent(id)}/test`,
      {}
    );
  }

  /** Grants, all of them or one credential's. */
  grants(credentialId?: string): Promise<IGrant[]> {
    const query = credentialId
      ? `?credential_id=${encodeURIComponent(credentialId)}`
      : '';
    return this.request<IGrant[]>('GET', `grants${query}`);
  }

  /** Let the notebook at `notebookPath` read the credential's key (idempotent). */
  grant(credentialId: string, notebookPath: string): Promise<IGrant> {
    return this.request<IGrant>('PUT', 'grants', {
      credential_id: credentialId,
      notebook_path: notebookPath
    });
  }

  revokeGrant(id: string): Promise<IGrant> {
    return this.request<IGrant>('DELETE', `grants/${encodeURIComponent(id)}`);
  }

  /** Recent audit events of the current user, newest first. */
  audit(limit = 50): Promise<IAuditEvent[]> {
    return this.request<IAuditEvent[]>('GET', `audit?limit=${limit}`);
  }

  /**
   * Whether the server offers `POST credentials/{id}/test`, read from the
   * OpenAPI description it serves. Any failure means "no".
   */
  async supportsConnectionTest(): Promise<boolean> {
    try {
      const spec = await this.request<{
        paths?: Record<string, Record<string, unknown>>;
      }>('GET', 'openapi.json');
      const path = spec?.paths?.[TEST_PATH];
      return !!path && typeof path === 'object' && 'post' in path;
    } catch {
      return false;
    }
  }
}
