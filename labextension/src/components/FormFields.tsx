/**
 * The form's inputs: the provider, a text field (text, URL, number) and the
 * API key field.
 *
 * The API key input is uncontrolled: its value is read on submit through
 * `inputRef` and never kept in React state, so it does not end up in an
 * attribute of the DOM, in storage or in a log.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { Button, HTMLSelect, InputGroup } from '@jupyterlab/ui-components';
import React from 'react';

import { IProvider, IProviderField } from '../api';
import { ICredentialFormModel } from '../model';

/** How the form names its elements (ids unique per form). */
export interface IFieldIds {
  field: (name: string) => string;
  error: (name: string) => string;
}

/** The ids an input is described by, or undefined for none. */
export function describedBy(...ids: (string | false)[]): string | undefined {
  return ids.filter(Boolean).join(' ') || undefined;
}

/** A field's error line ("Name must not be blank"), or nothing. */
export function FieldError(props: {
  ids: IFieldIds;
  name: string;
  label: string;
  error?: string;
}): JSX.Element | null {
  return props.error ? (
    <div
      id={props.ids.error(props.name)}
      className="jp-OpenNotebook-fieldError"
    >
      {props.label} {props.error}
    </div>
  ) : null;
}

export function TextField(props: {
  field: IProviderField;
  ids: IFieldIds;
  trans: TranslationBundle;
  value: string;
  error?: string;
  disabled: boolean;
  onChange: (value: string) => void;
}): JSX.Element {
  const { field, ids, trans, error } = props;
  const id = ids.field(field.name);
  let inputMode: 'url' | 'numeric' | 'text' = 'text';
  if (field.type === 'url') {
    inputMode = 'url';
  } else if (field.type === 'integer') {
    inputMode = 'numeric';
  }
  return (
    <div className="jp-OpenNotebook-field">
      <label htmlFor={id}>
        {field.required ? trans.__('%1 (required)', field.label) : field.label}
      </label>
      <InputGroup
        id={id}
        data-field={field.name}
        type="text"
        autoComplete="off"
        inputMode={inputMode}
        placeholder={field.type === 'url' ? trans.__('https://…') : undefined}
        spellCheck={false}
        value={props.value}
        disabled={props.disabled}
        aria-invalid={!!error}
        aria-required={field.required}
        aria-describedby={describedBy(!!error && ids.error(field.name))}
        onChange={event => props.onChange(event.currentTarget.value)}
      />
      <FieldError
        ids={ids}
        name={field.name}
        label={field.label}
        error={error}
      />
    </div>
  );
}

export interface ISecretFieldProps {
  field: IProviderField;
  ids: IFieldIds;
  trans: TranslationBundle;
  inputRef: React.RefObject<HTMLInputElement>;
  /** The label: "API key", "New API key", or the field's own. */
  label: string;
  required: boolean;
  /** The line under the input saying what an empty field means. */
  help: string;
  /** Why the help is there (`moved`, `mismatch`), for styling and tests. */
  reason?: string;
  error?: string;
  disabled: boolean;
  showKey: boolean;
  onShowKeyChange: (show: boolean) => void;
}

export function SecretField(props: ISecretFieldProps): JSX.Element {
  const { field, ids, trans, showKey, error } = props;
  const id = ids.field(field.name);
  const toggle = showKey ? trans.__('Hide API key') : trans.__('Show API key');
  return (
    <div className="jp-OpenNotebook-field">
      <label htmlFor={id}>
        {props.required ? trans.__('%1 (required)', props.label) : props.label}
      </label>
      <div className="jp-OpenNotebook-secretRow">
        <InputGroup
          id={id}
          inputRef={props.inputRef}
          data-field={field.name}
          type={showKey ? 'text' : 'password'}
          autoComplete="new-password"
          spellCheck={false}
          autoCapitalize="off"
          autoCorrect="off"
          disabled={props.disabled}
          aria-invalid={!!error}
          aria-required={props.required}
          aria-describedby={describedBy(
            !!error && ids.error(field.name),
            `${id}-help`
          )}
        />
        <Button
          type="button"
          small
          className="jp-OpenNotebook-toggleKey"
          aria-controls={id}
          aria-pressed={showKey}
          aria-label={toggle}
          title={toggle}
          disabled={props.disabled}
          onClick={() => props.onShowKeyChange(!showKey)}
        >
          {showKey ? trans.__('Hide') : trans.__('Show')}
        </Button>
      </div>
      <div
        id={`${id}-help`}
        className="jp-OpenNotebook-help"
        data-reason={props.reason}
      >
        {props.help}
      </div>
      <FieldError
        ids={ids}
        name={field.name}
        label={field.label}
        error={error}
      />
    </div>
  );
}

/** The provider: a select when adding, read-only text when editing. */
export function ProviderField(props: {
  form: ICredentialFormModel;
  ids: IFieldIds;
  trans: TranslationBundle;
  providers: IProvider[];
}): JSX.Element {
  const { form, ids, trans, providers } = props;
  const { editing, provider, errors } = form;
  return (
    <div className="jp-OpenNotebook-field">
      <label htmlFor={ids.field('provider')}>
        {editing ? trans.__('Provider') : trans.__('Provider (required)')}
      </label>
      {editing ? (
        <div id={ids.field('provider')} className="jp-OpenNotebook-readonly">
          {provider?.display_name}
        </div>
      ) : (
        <HTMLSelect
          id={ids.field('provider')}
          data-field="provider"
          value={form.providerName}
          disabled={form.saving}
          aria-invalid={!!errors.provider}
          aria-required={true}
          aria-describedby={describedBy(
            !!errors.provider && ids.error('provider')
          )}
          onChange={event => form.chooseProvider(event.currentTarget.value)}
          options={[
            { value: '', label: trans.__('Choose a provider…') },
            ...providers.map(p => ({ value: p.name, label: p.display_name }))
          ]}
        />
      )}
      <FieldError
        ids={ids}
        name="provider"
        label={form.labelOf('provider')}
        error={errors.provider}
      />
      {provider?.docs_url && !editing && (
        <div className="jp-OpenNotebook-help">
          <a href={provider.docs_url} target="_blank" rel="noopener noreferrer">
            {trans.__('%1 API keys page', provider.display_name)}
          </a>
        </div>
      )}
    </div>
  );
}
