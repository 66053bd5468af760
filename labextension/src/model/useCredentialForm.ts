/**
 * The add / edit form's state and its save. The API key is not part of it:
 * the form reads the key from its password input on submit and hands it to
 * `submit`, so it never sits in React state.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { useState } from 'react';

import {
  ApiError,
  asApiError,
  CredentialsClient,
  ICredential,
  IProvider,
  KeyAccess
} from '../api';
import { credentialField, without } from '../utils';
import {
  buildPayload,
  FieldErrors,
  FormValues,
  movedFields,
  validate
} from '../validation';
import { placeServerErrors } from './formErrors';

/** What a submit came to; `focus` names the field to move the focus to. */
export type SubmitOutcome =
  | { kind: 'saved'; credential: ICredential; created: boolean }
  | { kind: 'invalid'; focus?: string }
  | { kind: 'expired'; error: ApiError }
  | { kind: 'busy' };

export interface ICredentialFormOptions {
  client: CredentialsClient;
  trans: TranslationBundle;
  providers: IProvider[];
  /** The credential being edited; undefined when adding. */
  credential?: ICredential;
  /** The server refuses to store keys (its key check says mismatch). */
  keyMismatch: boolean;
}

export interface ICredentialFormModel {
  editing: boolean;
  /** The chosen provider (the credential's when editing). */
  provider: IProvider | undefined;
  /** The provider select's value when adding ('' before a choice). */
  providerName: string;
  values: FormValues;
  errors: FieldErrors;
  formError: string | null;
  saving: boolean;
  /**
   * URL fields changed in this edit: the stored key is only sent where it
   * was saved for, so the server needs the key again with the new address.
   */
  moved: string[];
  /** Who may use the key: `read` (secrets.get and the proxy) or `proxy` only. */
  keyAccess: KeyAccess;
  setKeyAccess: (value: KeyAccess) => void;
  setValue: (name: string, value: string) => void;
  chooseProvider: (name: string) => void;
  /** A field's label for messages ("Name", "Base URL"). */
  labelOf: (field: string) => string;
  submit: (apiKey: string) => Promise<SubmitOutcome>;
}

/** A provider for a credential whose provider the server no longer lists. */
function unknownProvider(name: string): IProvider {
  return {
    name,
    display_name: name,
    modalities: [],
    docs_url: null,
    env_configured: false,
    requires_api_key: false,
    fields: [],
    connection_test: false
  };
}

/**
 * The form's starting values: the credential's, or (adding) empty but for
 * the provider's prefills (Ollama's base URL `http://localhost:11434`).
 */
export function initialValues(
  provider: IProvider | undefined,
  credential?: ICredential
): FormValues {
  const values: FormValues = { name: credential?.name ?? '' };
  for (const field of provider?.fields ?? []) {
    if (field.secret) {
      continue;
    }
    if (!credential) {
      values[field.name] = field.prefill ?? '';
      continue;
    }
    const value = credentialField(credential, field.name);
    values[field.name] =
      value === null || value === undefined ? '' : String(value);
  }
  return values;
}

/**
 * The values after choosing another provider: what the user typed stays,
 * the new provider's prefills fill the empty fields, and the previous
 * provider's prefills left untouched go (Ollama's address is no OpenAI URL).
 */
export function valuesForProvider(
  current: FormValues,
  previous: IProvider | undefined,
  next: IProvider | undefined
): FormValues {
  const values = initialValues(next);
  for (const [name, value] of Object.entries(current)) {
    const prefill = previous?.fields.find(f => f.name === name)?.prefill;
    if (value !== '' && value !== prefill) {
      values[name] = value;
    }
  }
  return values;
}

export function useCredentialForm(
  options: ICredentialFormOptions
): ICredentialFormModel {
  const { client, trans, providers, credential, keyMismatch } = options;
  const editing = credential !== undefined;
  const [providerName, setProviderName] = useState<string>(
    credential?.provider ?? ''
  );
  const provider: IProvider | undefined = editing
    ? (providers.find(p => p.name === credential.provider) ??
      unknownProvider(credential.provider))
    : providers.find(p => p.name === providerName);
  const [values, setValues] = useState<FormValues>(() =>
    initialValues(provider, credential)
  );
  const [errors, setErrors] = useState<FieldErrors>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const [keyAccess, setKeyAccess] = useState<KeyAccess>(
    credential?.key_access ?? 'read'
  );
  const moved =
    editing && credential.has_api_key
      ? movedFields(provider, values, credential)
      : [];

  const setValue = (name: string, value: string) => {
    setValues(current => ({ ...current, [name]: value }));
    if (errors[name]) {
      setErrors(current => without(current, name));
    }
  };

  const chooseProvider = (name: string) => {
    const next = providers.find(p => p.name === name);
    setProviderName(name);
    setValues(current => valuesForProvider(current, provider, next));
    setErrors({});
    setFormError(null);
  };

  const labelOf = (field: string): string => {
    if (field === 'name') {
      return trans.__('Name');
    }
    if (field === 'provider') {
      return trans.__('Provider');
    }
    return provider?.fields.find(f => f.name === field)?.label ?? field;
  };

  const submit = async (apiKey: string): Promise<SubmitOutcome> => {
    if (saving) {
      return { kind: 'busy' };
    }
    setFormError(null);
    const clientErrors = validate(provider, values, apiKey, {
      editing,
      hasStoredKey: credential?.has_api_key ?? false,
      moved,
      keysBlocked: keyMismatch
    });
    if (Object.keys(clientErrors).length > 0 || !provider) {
      // The messages mirror the server's, which are not translated either.
      setErrors(clientErrors);
      setFormError(trans.__('Please correct the fields marked below.'));
      return { kind: 'invalid', focus: Object.keys(clientErrors)[0] };
    }
    setErrors({});
    setSaving(true);
    let saved: ICredential;
    try {
      const payload = buildPayload(provider, values, apiKey, editing);
      if (keyAccess !== (credential?.key_access ?? 'read')) {
        // proxy -> read needs the key in the same request (the server says so)
        payload.key_access = keyAccess;
      }
      saved = editing
        ? await client.update(credential.id, payload)
        : await client.create(payload);
    } catch (reason) {
      setSaving(false);
      const error = asApiError(reason, trans);
      if (error.isUnauthenticated) {
        return { kind: 'expired', error };
      }
      const known = ['name', 'provider', ...provider.fields.map(f => f.name)];
      const placed = placeServerErrors(
        error,
        known,
        trans,
        id => providers.find(p => p.name === id)?.display_name ?? id
      );
      setErrors(placed.fields);
      setFormError(placed.form);
      return { kind: 'invalid', focus: Object.keys(placed.fields)[0] };
    }
    setSaving(false);
    return { kind: 'saved', credential: saved, created: !editing };
  };

  return {
    editing,
    provider,
    providerName,
    values,
    errors,
    formError,
    saving,
    moved,
    keyAccess,
    setKeyAccess,
    setValue,
    chooseProvider,
    labelOf,
    submit
  };
}
