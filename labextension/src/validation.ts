/**
 * Client-side checks that mirror the server's (its request models and the
 * provider table), so most mistakes are shown before anything is sent. The
 * server stays the authority: its answers are shown too.
 */
import { CredentialPayload, FieldValue, ICredential, IProvider } from './api';
import { credentialField } from './utils';

export const MAX_NAME = 200;
export const MAX_KEY = 8192;
export const MAX_URL = 2048;
export const MAX_TEXT = 200;
export const MAX_NUM_CTX = 10_000_000;

/** Field name to message; empty when everything is fine. */
export type FieldErrors = Record<string, string>;

/** What the form holds, as typed: the name and every non-secret field. */
export type FormValues = Record<string, string>;

function hasControlCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) {
      return true;
    }
  }
  return false;
}

function textError(
  value: string,
  maxLength: number,
  required: boolean
): string | null {
  const trimmed = value.trim();
  if (!trimmed) {
    return required ? 'is required' : null;
  }
  if (trimmed.length > maxLength) {
    return `must be at most ${maxLength} characters`;
  }
  if (hasControlCharacter(trimmed)) {
    return 'must not contain control characters';
  }
  return null;
}

export function urlError(value: string, required: boolean): string | null {
  const basic = textError(value, MAX_URL, required);
  if (basic || !value.trim()) {
    return basic;
  }
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return 'must be an http:// or https:// URL with a host';
  }
  if (
    (url.protocol !== 'http:' && url.protocol !== 'https:') ||
    !url.hostname
  ) {
    return 'must be an http:// or https:// URL with a host';
  }
  return null;
}

function integerError(value: string, required: boolean): string | null {
  const trimmed = value.trim();
  if (!trimmed) {
    return required ? 'is required' : null;
  }
  if (!/^\d+$/.test(trimmed)) {
    return 'must be a whole number';
  }
  const n = Number(trimmed);
  if (n !== 0 && (n < 1 || n > MAX_NUM_CTX)) {
    return `must be between 1 and ${MAX_NUM_CTX}`;
  }
  return null;
}

export interface IValidationContext {
  /** Editing an existing credential (an empty key field then means "keep"). */
  editing: boolean;
  /** The credential being edited already has a stored key. */
  hasStoredKey: boolean;
  /**
   * Fields changed in this edit that decide where the stored key is sent
   * (`movedFields`): the server then needs the key in the same request.
   */
  moved?: string[];
  /** No key can be stored now (the server's key check says mismatch). */
  keysBlocked?: boolean;
}

/**
 * The URL fields (base URL, endpoints) whose value in the form differs from the
 * credential's: they decide which host the key is sent to, so changing one
 * (clearing included) needs the key again, as the server requires.
 */
export function movedFields(
  provider: IProvider | undefined,
  values: FormValues,
  credential: ICredential | undefined
): string[] {
  if (!provider || !credential) {
    return [];
  }
  return provider.fields
    .filter(f => f.type === 'url')
    .filter(f => {
      const before = credentialField(credential, f.name);
      const after = fieldValue(f.type, values[f.name] ?? '');
      return (before === undefined ? null : before) !== after;
    })
    .map(f => f.name);
}

/**
 * Check the form the way the server will. Messages name no value: the key
 * field may hold a secret.
 */
export function validate(
  provider: IProvider | undefined,
  values: FormValues,
  apiKey: string,
  context: IValidationContext
): FieldErrors {
  const errors: FieldErrors = {};
  if (!provider) {
    errors.provider = 'is required';
    return errors;
  }
  const name = textError(values.name ?? '', MAX_NAME, true);
  if (name) {
    errors.name = name === 'is required' ? 'must not be blank' : name;
  }
  for (const field of provider.fields) {
    let error: string | null;
    if (field.secret) {
      const moved =
        context.editing && context.hasStoredKey ? (context.moved ?? []) : [];
      const keyNeeded =
        (field.required && (!context.editing || !context.hasStoredKey)) ||
        moved.length > 0;
      if (keyNeeded && context.keysBlocked) {
        error =
          'cannot be stored while the encryption key does not match the database';
      } else {
        error = textError(apiKey, MAX_KEY, keyNeeded);
      }
      if (error === 'is required') {
        if (moved.length > 0) {
          const labels = moved.map(
            name => provider.fields.find(f => f.name === name)?.label ?? name
          );
          error = `is required because ${labels.join(', ')} changed: a stored key is only sent to the address it was saved with`;
        } else {
          error = context.editing
            ? 'is required for this provider: enter a key'
            : 'must not be blank';
        }
      }
    } else if (field.type === 'url') {
      error = urlError(values[field.name] ?? '', field.required);
    } else if (field.type === 'integer') {
      error = integerError(values[field.name] ?? '', field.required);
    } else {
      const max = field.name === 'credentials_path' ? MAX_URL : MAX_TEXT;
      error = textError(values[field.name] ?? '', max, field.required);
    }
    if (error) {
      errors[field.name] = error;
    }
  }
  return errors;
}

function fieldValue(type: string, raw: string): FieldValue {
  const trimmed = raw.trim();
  if (!trimmed) {
    return null;
  }
  if (type === 'integer') {
    const n = Number(trimmed);
    return n === 0 ? null : n;
  }
  return trimmed;
}

/**
 * The JSON body for `POST credentials` (editing false) or
 * `PUT credentials/{id}` (editing true).
 *
 * Creating sends only the fields that have a value. Updating sends every
 * field of the provider (an emptied field is `null`, which clears it) and
 * `api_key` only when a new key was typed: left out means unchanged.
 */
export function buildPayload(
  provider: IProvider,
  values: FormValues,
  apiKey: string,
  editing: boolean
): CredentialPayload {
  const payload: CredentialPayload = { name: (values.name ?? '').trim() };
  if (!editing) {
    payload.provider = provider.name;
  }
  for (const field of provider.fields) {
    if (field.secret) {
      if (apiKey.trim()) {
        payload[field.name] = apiKey.trim();
      }
      continue;
    }
    const value = fieldValue(field.type, values[field.name] ?? '');
    if (value !== null || editing) {
      payload[field.name] = value;
    }
  }
  return payload;
}

/** Server field names ("name", "base_url", "body.name") to the form's names. */
export function serverFieldName(field: string): string {
  return field.split('.').pop() ?? field;
}
