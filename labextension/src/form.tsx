/**
 * The add / edit form.
 *
 * The API key field is an uncontrolled password input: the key is read from
 * it on submit and never kept in React state, so it does not end up in an
 * attribute of the DOM, in storage or in a log. After a successful save the
 * input is cleared and the form closes.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { Button, HTMLSelect, InputGroup } from '@jupyterlab/ui-components';
import React, { useEffect, useRef, useState } from 'react';

import {
  ApiError,
  CredentialsClient,
  ICredential,
  IProvider,
  IProviderField
} from './api';
import {
  buildPayload,
  FieldErrors,
  FormValues,
  movedFields,
  serverFieldName,
  validate
} from './validation';

let nextFormId = 0;

export function asApiError(error: unknown, trans: TranslationBundle): ApiError {
  if (error instanceof ApiError) {
    return error;
  }
  return new ApiError(-1, trans.__('Something went wrong. Try again.'));
}

/** A provider for a credential whose provider the server no longer lists. */
function unknownProvider(name: string): IProvider {
  return {
    name,
    display_name: name,
    modalities: [],
    docs_url: null,
    requires_api_key: false,
    fields: []
  };
}

function initialValues(
  provider: IProvider | undefined,
  credential?: ICredential
): FormValues {
  const values: FormValues = { name: credential?.name ?? '' };
  for (const field of provider?.fields ?? []) {
    if (field.secret) {
      continue;
    }
    const value = credential?.[field.name];
    values[field.name] =
      value === null || value === undefined ? '' : String(value);
  }
  return values;
}

export interface ICredentialFormProps {
  client: CredentialsClient;
  trans: TranslationBundle;
  providers: IProvider[];
  /** The credential being edited; undefined when adding. */
  credential?: ICredential;
  /** False when the server has no encryption key: keys cannot be written. */
  canWriteKeys: boolean;
  /**
   * The server's key check says mismatch: the server refuses to store keys
   * until the original key is configured again (or the keys are rotated).
   */
  keyMismatch?: boolean;
  onSaved: (credential: ICredential, created: boolean) => void;
  onCancel: () => void;
  onSessionExpired: (error: ApiError) => void;
}

export function CredentialForm(props: ICredentialFormProps): JSX.Element {
  const { client, trans, providers, credential, canWriteKeys } = props;
  const keyMismatch = !!props.keyMismatch;
  const editing = credential !== undefined;
  const [formId] = useState(() => `jp-OpenNotebook-form-${++nextFormId}`);
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
  const [showKey, setShowKey] = useState(false);
  const keyRef = useRef<HTMLInputElement>(null);
  const formRef = useRef<HTMLFormElement>(null);
  // URL fields changed in this edit: the stored key is only sent where it was
  // saved for, so the server needs the key again with the new address.
  const moved =
    editing && credential.has_api_key
      ? movedFields(
          provider,
          values,
          credential as unknown as Record<string, unknown>
        )
      : [];

  useEffect(() => {
    // Focus the first control when the form opens.
    formRef.current
      ?.querySelector<HTMLElement>('select, input:not([type="hidden"])')
      ?.focus();
  }, []);

  const setValue = (name: string, value: string) => {
    setValues(current => ({ ...current, [name]: value }));
    if (errors[name]) {
      setErrors(current => {
        const next = { ...current };
        delete next[name];
        return next;
      });
    }
  };

  const focusFirstError = (fieldErrors: FieldErrors) => {
    const first = Object.keys(fieldErrors)[0];
    if (first) {
      formRef.current
        ?.querySelector<HTMLElement>(`[data-field="${first}"]`)
        ?.focus();
    }
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

  const showServerError = (error: ApiError) => {
    const known = new Set([
      'name',
      'provider',
      ...(provider?.fields.map(f => f.name) ?? [])
    ]);
    const fieldErrors: FieldErrors = {};
    const unplaced: string[] = [];
    for (const e of error.errors) {
      const field = serverFieldName(e.field);
      if (known.has(field) && !fieldErrors[field]) {
        fieldErrors[field] = e.message;
      } else {
        unplaced.push(e.field ? `${e.field}: ${e.message}` : e.message);
      }
    }
    const nameTaken =
      error.status === 409 && error.errors.some(e => e.field === 'name');
    if (nameTaken) {
      fieldErrors.name = trans.__(
        'is already used by another credential of this provider'
      );
    }
    setErrors(fieldErrors);
    if (unplaced.length > 0) {
      setFormError(unplaced.join('; '));
    } else if (nameTaken || Object.keys(fieldErrors).length === 0) {
      setFormError(error.detail);
    } else {
      setFormError(
        trans.__('The server did not accept the fields marked below.')
      );
    }
    focusFirstError(fieldErrors);
  };

  const onSubmit = async (event: React.FormEvent) => {
    event.preventDefault();
    if (saving) {
      return;
    }
    setFormError(null);
    const apiKey = keyRef.current?.value ?? '';
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
      focusFirstError(clientErrors);
      return;
    }
    setErrors({});
    setSaving(true);
    let saved: ICredential;
    try {
      const payload = buildPayload(provider, values, apiKey, editing);
      saved = editing
        ? await client.update(credential.id, payload)
        : await client.create(payload);
    } catch (reason) {
      setSaving(false);
      const error = asApiError(reason, trans);
      if (error.isUnauthenticated) {
        props.onSessionExpired(error);
      } else {
        showServerError(error);
      }
      return;
    }
    if (keyRef.current) {
      keyRef.current.value = '';
    }
    setSaving(false);
    props.onSaved(saved, !editing);
  };

  const onKeyDown = (event: React.KeyboardEvent) => {
    if (event.key === 'Escape' && !saving) {
      event.preventDefault();
      event.stopPropagation();
      props.onCancel();
    }
  };

  const fieldId = (name: string) => `${formId}-${name}`;
  const errorId = (name: string) => `${formId}-${name}-error`;

  const renderError = (name: string) =>
    errors[name] ? (
      <div id={errorId(name)} className="jp-OpenNotebook-fieldError">
        {labelOf(name)} {errors[name]}
      </div>
    ) : null;

  const describedBy = (...ids: (string | false)[]) =>
    ids.filter(Boolean).join(' ') || undefined;

  const renderSecret = (field: IProviderField) => {
    const id = fieldId(field.name);
    const invalid = !!errors[field.name];
    const keyDisabled = !canWriteKeys || keyMismatch || saving;
    const labels = moved.map(labelOf).join(', ');
    let help: string;
    if (!canWriteKeys) {
      help = trans.__(
        'Keys cannot be stored until an encryption key is configured.'
      );
    } else if (keyMismatch) {
      help = trans.__(
        'Keys cannot be stored while the encryption key does not match the one the stored keys were saved with (see above).'
      );
    } else if (moved.length > 0) {
      help = trans.__(
        '%1 changed: enter the API key again. A stored key is only sent to the address it was saved with, so changing where it goes needs the key.',
        labels
      );
    } else if (editing && credential?.has_api_key) {
      help = credential.api_key_hint
        ? trans.__(
            'Leave empty to keep the current key (%1); type a new one to replace it.',
            credential.api_key_hint
          )
        : trans.__(
            'Leave empty to keep the current key; type a new one to replace it.'
          );
    } else {
      help = trans.__(
        'Stored encrypted; it is never shown again after saving.'
      );
    }
    const label = editing
      ? moved.length > 0
        ? trans.__('API key')
        : trans.__('New API key')
      : field.label;
    const required =
      (field.required && !(editing && credential?.has_api_key)) ||
      moved.length > 0;
    return (
      <div className="jp-OpenNotebook-field" key={field.name}>
        <label htmlFor={id}>
          {required ? trans.__('%1 (required)', label) : label}
        </label>
        <div className="jp-OpenNotebook-secretRow">
          <InputGroup
            id={id}
            inputRef={keyRef}
            data-field={field.name}
            type={showKey ? 'text' : 'password'}
            autoComplete="new-password"
            spellCheck={false}
            autoCapitalize="off"
            autoCorrect="off"
            disabled={keyDisabled}
            aria-invalid={invalid}
            aria-required={required}
            aria-describedby={describedBy(
              invalid && errorId(field.name),
              `${id}-help`
            )}
          />
          <Button
            type="button"
            small
            className="jp-OpenNotebook-toggleKey"
            aria-controls={id}
            aria-pressed={showKey}
            aria-label={
              showKey ? trans.__('Hide API key') : trans.__('Show API key')
            }
            title={
              showKey ? trans.__('Hide API key') : trans.__('Show API key')
            }
            disabled={keyDisabled}
            onClick={() => setShowKey(!showKey)}
          >
            {showKey ? trans.__('Hide') : trans.__('Show')}
          </Button>
        </div>
        <div
          id={`${id}-help`}
          className="jp-OpenNotebook-help"
          data-reason={
            moved.length > 0 ? 'moved' : keyMismatch ? 'mismatch' : undefined
          }
        >
          {help}
        </div>
        {renderError(field.name)}
      </div>
    );
  };

  const renderField = (field: IProviderField) => {
    if (field.secret) {
      return renderSecret(field);
    }
    const id = fieldId(field.name);
    const invalid = !!errors[field.name];
    let inputMode: 'url' | 'numeric' | 'text' = 'text';
    if (field.type === 'url') {
      inputMode = 'url';
    } else if (field.type === 'integer') {
      inputMode = 'numeric';
    }
    return (
      <div className="jp-OpenNotebook-field" key={field.name}>
        <label htmlFor={id}>
          {field.required
            ? trans.__('%1 (required)', field.label)
            : field.label}
        </label>
        <InputGroup
          id={id}
          data-field={field.name}
          type="text"
          autoComplete="off"
          inputMode={inputMode}
          placeholder={field.type === 'url' ? trans.__('https://…') : undefined}
          spellCheck={false}
          value={values[field.name] ?? ''}
          disabled={saving}
          aria-invalid={invalid}
          aria-required={field.required}
          aria-describedby={describedBy(invalid && errorId(field.name))}
          onChange={event => setValue(field.name, event.currentTarget.value)}
        />
        {renderError(field.name)}
      </div>
    );
  };

  let submitLabel: string;
  if (saving) {
    submitLabel = trans.__('Saving…');
  } else if (editing) {
    submitLabel = trans.__('Save changes');
  } else {
    submitLabel = trans.__('Save');
  }

  return (
    <form
      ref={formRef}
      className="jp-OpenNotebook-form"
      aria-labelledby={`${formId}-title`}
      noValidate
      onSubmit={onSubmit}
      onKeyDown={onKeyDown}
      data-mode={editing ? 'edit' : 'add'}
    >
      <h3 id={`${formId}-title`} className="jp-OpenNotebook-formTitle">
        {editing
          ? trans.__('Edit “%1”', credential.name)
          : trans.__('Add a credential')}
      </h3>
      {formError && (
        <div className="jp-OpenNotebook-formError" role="alert">
          {formError}
        </div>
      )}
      <div className="jp-OpenNotebook-field">
        <label htmlFor={fieldId('provider')}>
          {editing ? trans.__('Provider') : trans.__('Provider (required)')}
        </label>
        {editing ? (
          <div id={fieldId('provider')} className="jp-OpenNotebook-readonly">
            {provider?.display_name}
          </div>
        ) : (
          <HTMLSelect
            id={fieldId('provider')}
            data-field="provider"
            value={providerName}
            disabled={saving}
            aria-invalid={!!errors.provider}
            aria-required={true}
            aria-describedby={describedBy(
              !!errors.provider && errorId('provider')
            )}
            onChange={event => {
              const name = event.currentTarget.value;
              const next = providers.find(p => p.name === name);
              setProviderName(name);
              setValues(current => ({ ...initialValues(next), ...current }));
              setErrors({});
              setFormError(null);
            }}
            options={[
              { value: '', label: trans.__('Choose a provider…') },
              ...providers.map(p => ({ value: p.name, label: p.display_name }))
            ]}
          />
        )}
        {renderError('provider')}
        {provider?.docs_url && !editing && (
          <div className="jp-OpenNotebook-help">
            <a
              href={provider.docs_url}
              target="_blank"
              rel="noopener noreferrer"
            >
              {trans.__('%1 API keys page', provider.display_name)}
            </a>
          </div>
        )}
      </div>
      <div className="jp-OpenNotebook-field">
        <label htmlFor={fieldId('name')}>{trans.__('Name (required)')}</label>
        <InputGroup
          id={fieldId('name')}
          data-field="name"
          type="text"
          autoComplete="off"
          value={values.name ?? ''}
          disabled={saving}
          aria-invalid={!!errors.name}
          aria-required={true}
          aria-describedby={describedBy(!!errors.name && errorId('name'))}
          onChange={event => setValue('name', event.currentTarget.value)}
        />
        {renderError('name')}
      </div>
      {provider?.fields.map(renderField)}
      <div className="jp-OpenNotebook-formActions">
        <Button
          type="submit"
          className="jp-mod-styled jp-mod-accept jp-OpenNotebook-save"
          disabled={saving}
        >
          {submitLabel}
        </Button>
        <Button
          type="button"
          className="jp-mod-styled jp-mod-reject jp-OpenNotebook-cancel"
          disabled={saving}
          onClick={props.onCancel}
        >
          {trans.__('Cancel')}
        </Button>
      </div>
    </form>
  );
}
