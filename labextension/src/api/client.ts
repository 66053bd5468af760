/**
 * A small typed client for the server extension's credential API.
 *
 * Every request goes through `ServerConnection.makeRequest`, so the token,
 * the XSRF header and the base URL are handled exactly as JupyterLab does.
 * Request bodies may carry an API key: they are never logged or stored.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { ApiError, errorFrom, NETWORK_DETAIL, NOT_JSON_DETAIL } from './errors';
import {
  CredentialPayload,
  EnvImportSource,
  IAuditEvent,
  ICredential,
  ICredentialDeleteResponse,
  IEnvImportListing,
  IEnvImportResult,
  IGrant,
  IGrantRequest,
  IProvider,
  IRevokedGrant,
  IStatus,
  ITestResult,
  IUsage
} from './types';

/** The API namespace, relative to the server's base URL. */
export const API_PATH = 'open-notebook/api/';

/** How many audit events the Activity section asks for. */
export const AUDIT_LIMIT = 50;

type Body =
  | CredentialPayload
  | IGrantRequest
  | { providers: string[]; remove_imported?: boolean };

export class CredentialsClient {
  constructor(readonly serverSettings: ServerConnection.ISettings) {}

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
    return this.request<ICredential>('PUT', credentialPath(id), payload);
  }

  remove(id: string): Promise<ICredentialDeleteResponse> {
    return this.request<ICredentialDeleteResponse>(
      'DELETE',
      credentialPath(id)
    );
  }

  test(id: string): Promise<ITestResult> {
    return this.request<ITestResult>('POST', `${credentialPath(id)}/test`, {});
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

  revokeGrant(id: string): Promise<IRevokedGrant> {
    return this.request<IRevokedGrant>(
      'DELETE',
      `grants/${encodeURIComponent(id)}`
    );
  }

  /** The provider variables found (names only) in the environment and `.env`. */
  envImport(): Promise<IEnvImportListing> {
    return this.request<IEnvImportListing>('GET', 'credentials/env-import');
  }

  /**
   * Import the chosen providers' keys from `source`; with `removeImported`
   * (`.env` only) the imported variables are then taken out of the file.
   */
  importFrom(
    source: EnvImportSource,
    providers: string[],
    removeImported = false
  ): Promise<IEnvImportResult> {
    if (source === 'environment') {
      return this.request<IEnvImportResult>(
        'POST',
        'credentials/migrate-from-env',
        { providers }
      );
    }
    return this.request<IEnvImportResult>('POST', 'credentials/import-dotenv', {
      providers,
      remove_imported: removeImported
    });
  }

  /** Recent audit events of the current user, newest first. */
  audit(limit = AUDIT_LIMIT): Promise<IAuditEvent[]> {
    return this.request<IAuditEvent[]>('GET', `audit?limit=${limit}`);
  }

  /**
   * Provider proxy usage since `since` (a date or date-time), per credential
   * or per notebook; `credentialId` limits it to one credential.
   */
  usage(
    since: string,
    groupBy: 'credential' | 'notebook' = 'credential',
    credentialId?: string
  ): Promise<IUsage> {
    const only = credentialId
      ? `&credential_id=${encodeURIComponent(credentialId)}`
      : '';
    return this.request<IUsage>(
      'GET',
      `usage?group_by=${groupBy}&since=${encodeURIComponent(since)}${only}`
    );
  }

  private url(path: string): string {
    return URLExt.join(this.serverSettings.baseUrl, API_PATH, path);
  }

  private async request<T>(
    method: string,
    path: string,
    body?: Body
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
      throw new ApiError(response.status, NOT_JSON_DETAIL);
    }
  }
}

function credentialPath(id: string): string {
  return `credentials/${encodeURIComponent(id)}`;
}
