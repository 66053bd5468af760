/**
 * The one error type of the API client, and how an error answer becomes one.
 */
import { TranslationBundle } from '@jupyterlab/translation';

import { IFieldError } from './types';

/**
 * An error answer of the API, or a failure to reach it.
 *
 * `status` is 0 when the server could not be reached at all, -1 for an
 * unexpected failure in the panel itself (see `asApiError`).
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

export const NETWORK_DETAIL =
  'Cannot reach the Jupyter server. Check that it is still running.';

export const SESSION_EXPIRED_DETAIL =
  'Your Jupyter session has expired or you are not logged in. Reload the page to sign in again.';

export const NOT_JSON_DETAIL = 'The server sent an answer that is not JSON.';

function isFieldError(value: unknown): value is IFieldError {
  return (
    !!value &&
    typeof value === 'object' &&
    typeof (value as IFieldError).field === 'string' &&
    typeof (value as IFieldError).message === 'string'
  );
}

/**
 * Read an error body of the form `{"detail": "...", "errors": [...]}`.
 *
 * Anything else (an HTML error page from a proxy, say) becomes a short
 * message with the status code, never the raw body.
 */
export async function errorFrom(response: Response): Promise<ApiError> {
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
          .filter(isFieldError)
          .map(e => ({ field: e.field, message: e.message }));
      }
    }
  } catch {
    // Not JSON: keep the status line.
  }
  if (response.status === 401) {
    detail = SESSION_EXPIRED_DETAIL;
  }
  return new ApiError(response.status, detail, errors);
}

/** Any failure as an ApiError: a bug in the panel reads as "try again". */
export function asApiError(error: unknown, trans: TranslationBundle): ApiError {
  if (error instanceof ApiError) {
    return error;
  }
  return new ApiError(-1, trans.__('Something went wrong. Try again.'));
}
