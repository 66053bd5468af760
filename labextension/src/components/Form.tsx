/**
 * The add / edit form. Its state and save live in `useCredentialForm`; the
 * API key is read from its password input on submit, never kept in state.
 * After a successful save the input is cleared and the form closes.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { Button, InputGroup } from '@jupyterlab/ui-components';
import React, { useEffect, useRef, useState } from 'react';

import {
  ApiError,
  CredentialsClient,
  ICredential,
  IGrant,
  IProvider,
  IProviderField
} from '../api';
import { ICredentialFormModel, useCredentialForm } from '../model';
import { confirmRename } from './dialogs';
import {
  describedBy,
  FieldError,
  IFieldIds,
  ProviderField,
  SecretField,
  TextField
} from './FormFields';

let nextFormId = 0;

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
  /** The notebooks granted the edited credential (a rename breaks their code). */
  grants?: IGrant[] | null;
  onSaved: (credential: ICredential, created: boolean) => void;
  onCancel: () => void;
  onSessionExpired: (error: ApiError) => void;
}

/** The API key field's label, help line and whether it is required. */
function keyFieldText(
  form: ICredentialFormModel,
  field: IProviderField,
  credential: ICredential | undefined,
  canWriteKeys: boolean,
  keyMismatch: boolean,
  trans: TranslationBundle
): { label: string; help: string; required: boolean; reason?: string } {
  const { editing, moved } = form;
  const storedKey = editing && !!credential?.has_api_key;
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
      moved.map(form.labelOf).join(', ')
    );
  } else if (storedKey) {
    help = credential?.api_key_hint
      ? trans.__(
          'Leave empty to keep the current key (%1); type a new one to replace it.',
          credential.api_key_hint
        )
      : trans.__(
          'Leave empty to keep the current key; type a new one to replace it.'
        );
  } else {
    help = trans.__('Stored encrypted; it is never shown again after saving.');
  }
  let label = field.label;
  if (editing) {
    label = moved.length > 0 ? trans.__('API key') : trans.__('New API key');
  }
  return {
    label,
    help,
    required: (field.required && !storedKey) || moved.length > 0,
    reason: moved.length > 0 ? 'moved' : keyMismatch ? 'mismatch' : undefined
  };
}

export function CredentialForm(props: ICredentialFormProps): JSX.Element {
  const { trans, providers, credential, canWriteKeys } = props;
  const keyMismatch = !!props.keyMismatch;
  const form = useCredentialForm({
    client: props.client,
    trans,
    providers,
    credential,
    keyMismatch
  });
  const { editing, provider, errors, saving } = form;
  const [formId] = useState(() => `jp-OpenNotebook-form-${++nextFormId}`);
  const [showKey, setShowKey] = useState(false);
  const keyRef = useRef<HTMLInputElement>(null);
  const formRef = useRef<HTMLFormElement>(null);
  const ids: IFieldIds = {
    field: name => `${formId}-${name}`,
    error: name => `${formId}-${name}-error`
  };

  useEffect(() => {
    // Focus the first control when the form opens.
    formRef.current
      ?.querySelector<HTMLElement>('select, input:not([type="hidden"])')
      ?.focus();
  }, []);

  const focusField = (name: string | undefined) => {
    if (name) {
      formRef.current
        ?.querySelector<HTMLElement>(`[data-field="${name}"]`)
        ?.focus();
    }
  };

  const onSubmit = async (event: React.FormEvent) => {
    event.preventDefault();
    const newName = (form.values.name ?? '').trim();
    if (
      credential &&
      !saving &&
      newName &&
      newName.length <= 200 &&
      newName !== credential.name &&
      !(await confirmRename(
        credential,
        newName,
        provider?.display_name ?? credential.provider,
        trans,
        props.grants ?? null
      ))
    ) {
      return; // Cancel: the form stays open as it was
    }
    const outcome = await form.submit(keyRef.current?.value ?? '');
    if (outcome.kind === 'saved') {
      if (keyRef.current) {
        keyRef.current.value = '';
      }
      props.onSaved(outcome.credential, outcome.created);
    } else if (outcome.kind === 'expired') {
      props.onSessionExpired(outcome.error);
    } else if (outcome.kind === 'invalid') {
      focusField(outcome.focus);
    }
  };

  const onKeyDown = (event: React.KeyboardEvent) => {
    if (event.key === 'Escape' && !saving) {
      event.preventDefault();
      event.stopPropagation();
      props.onCancel();
    }
  };

  const fields = provider?.fields.map(field =>
    field.secret ? (
      <SecretField
        key={field.name}
        field={field}
        ids={ids}
        trans={trans}
        inputRef={keyRef}
        {...keyFieldText(
          form,
          field,
          credential,
          canWriteKeys,
          keyMismatch,
          trans
        )}
        error={errors[field.name]}
        disabled={!canWriteKeys || keyMismatch || saving}
        showKey={showKey}
        onShowKeyChange={setShowKey}
      />
    ) : (
      <TextField
        key={field.name}
        field={field}
        ids={ids}
        trans={trans}
        value={form.values[field.name] ?? ''}
        error={errors[field.name]}
        disabled={saving}
        onChange={value => form.setValue(field.name, value)}
      />
    )
  );

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
        {credential
          ? trans.__('Edit “%1”', credential.name)
          : trans.__('Add a credential')}
      </h3>
      {form.formError && (
        <div className="jp-OpenNotebook-formError" role="alert">
          {form.formError}
        </div>
      )}
      <ProviderField
        form={form}
        ids={ids}
        trans={trans}
        providers={providers}
      />
      <div className="jp-OpenNotebook-field">
        <label htmlFor={ids.field('name')}>{trans.__('Name (required)')}</label>
        <InputGroup
          id={ids.field('name')}
          data-field="name"
          type="text"
          autoComplete="off"
          value={form.values.name ?? ''}
          disabled={saving}
          aria-invalid={!!errors.name}
          aria-required={true}
          aria-describedby={describedBy(!!errors.name && ids.error('name'))}
          onChange={event => form.setValue('name', event.currentTarget.value)}
        />
        <FieldError
          ids={ids}
          name="name"
          label={form.labelOf('name')}
          error={errors.name}
        />
      </div>
      {fields}
      {provider?.fields.some(f => f.secret) && (
        <div className="jp-OpenNotebook-field">
          <label htmlFor={ids.field('key_access')}>
            {trans.__('Notebook code may')}
          </label>
          <select
            id={ids.field('key_access')}
            data-field="key_access"
            className="jp-mod-styled"
            value={form.keyAccess}
            disabled={saving}
            aria-describedby={`${ids.field('key_access')}-help`}
            onChange={event =>
              form.setKeyAccess(
                event.currentTarget.value === 'proxy' ? 'proxy' : 'read'
              )
            }
          >
            <option value="read">
              {trans.__('read the key (secrets.get) or use the proxy')}
            </option>
            <option value="proxy">
              {trans.__('only use the key through the proxy')}
            </option>
          </select>
          <div
            id={`${ids.field('key_access')}-help`}
            className="jp-OpenNotebook-help"
          >
            {editing && credential?.key_access === 'proxy'
              ? trans.__(
                  'Making the key readable again needs the API key entered above.'
                )
              : trans.__(
                  'With the proxy, notebook code calls the provider through this server (secrets.proxy) and never receives the key.'
                )}
          </div>
        </div>
      )}
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
