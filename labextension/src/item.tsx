/**
 * One credential in the list.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import {
  Button,
  checkIcon,
  errorIcon,
  LabIcon
} from '@jupyterlab/ui-components';
import React from 'react';

import { ICredential, ITestResult } from './api';

export type TestState =
  | { state: 'running' }
  | { state: 'done'; result: ITestResult }
  | { state: 'failed'; message: string };

export interface ICredentialItemProps {
  credential: ICredential;
  providerLabel: string;
  trans: TranslationBundle;
  canTest: boolean;
  test?: TestState;
  busy: boolean;
  onEdit: () => void;
  onDelete: () => void;
  onTest: () => void;
  /** More sections of the entry (notebooks with access). */
  children?: React.ReactNode;
}

function formatTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

/** A DOM id made from a credential id ("credential:1a2b…"). */
export function domId(prefix: string, id: string): string {
  return `${prefix}-${id.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

/**
 * The outcome of the last connection test, next to the credential. The
 * region is always there (empty before a test), so screen readers announce
 * "Testing…" and then the result as they appear.
 */
function TestResult(props: {
  id: string;
  test?: TestState;
  trans: TranslationBundle;
}): JSX.Element {
  const { test, trans } = props;
  let text = '';
  let state = 'idle';
  let Icon: LabIcon | null = null;
  if (test?.state === 'running') {
    text = trans.__('Testing the connection…');
    state = 'running';
  } else if (test?.state === 'failed') {
    text = trans.__('Could not test the connection: %1', test.message);
    state = 'error';
    Icon = errorIcon;
  } else if (test?.state === 'done' && test.result.success) {
    text = trans.__('Connection test passed: %1', test.result.message);
    state = 'success';
    Icon = checkIcon;
  } else if (test?.state === 'done') {
    text = trans.__('Connection test failed: %1', test.result.message);
    state = 'failure';
    Icon = errorIcon;
  }
  return (
    <div
      id={props.id}
      className={`jp-OpenNotebook-testResult jp-mod-${state}`}
      role="status"
      aria-live="polite"
      data-test-state={state}
    >
      {Icon && (
        <Icon.react
          tag="span"
          className="jp-OpenNotebook-testIcon"
          aria-hidden="true"
        />
      )}
      {test?.state === 'running' && (
        <span className="jp-OpenNotebook-spinner" aria-hidden="true" />
      )}
      <span className="jp-OpenNotebook-testText">{text}</span>
    </div>
  );
}

export function CredentialItem(props: ICredentialItemProps): JSX.Element {
  const { credential: c, trans, test } = props;
  const nameId = domId('jp-OpenNotebook-name', c.id);
  const testId = domId('jp-OpenNotebook-test', c.id);
  let keyText: string;
  if (c.api_key_hint) {
    keyText = c.api_key_hint;
  } else if (c.has_api_key) {
    keyText = trans.__('key stored');
  } else {
    keyText = trans.__('no key');
  }
  return (
    <li
      className="jp-OpenNotebook-credential"
      aria-labelledby={nameId}
      data-credential-id={c.id}
    >
      <div className="jp-OpenNotebook-credentialHeader">
        <span id={nameId} className="jp-OpenNotebook-credentialName">
          {c.name}
        </span>
        <span
          className="jp-OpenNotebook-hint"
          title={
            c.api_key_hint
              ? trans.__('The last characters of the API key')
              : undefined
          }
        >
          {keyText}
        </span>
      </div>
      <div className="jp-OpenNotebook-meta jp-OpenNotebook-provider">
        {props.providerLabel}
      </div>
      {c.base_url && (
        <div className="jp-OpenNotebook-meta jp-OpenNotebook-baseUrl">
          <span className="jp-OpenNotebook-metaLabel">
            {trans.__('Base URL')}
          </span>{' '}
          <span className="jp-OpenNotebook-url">{c.base_url}</span>
        </div>
      )}
      {c.decryption_error && (
        <div className="jp-OpenNotebook-badge jp-mod-error">
          {c.decryption_error}
        </div>
      )}
      <div className="jp-OpenNotebook-meta jp-OpenNotebook-dates">
        <span>
          {trans.__('Created')}{' '}
          <time dateTime={c.created}>{formatTime(c.created)}</time>
        </span>
        {c.updated !== c.created && (
          <span>
            {' · '}
            {trans.__('Updated')}{' '}
            <time dateTime={c.updated}>{formatTime(c.updated)}</time>
          </span>
        )}
      </div>
      <div className="jp-OpenNotebook-actions">
        <Button
          small
          className="jp-OpenNotebook-edit"
          aria-label={trans.__('Edit %1', c.name)}
          disabled={props.busy}
          onClick={props.onEdit}
        >
          {trans.__('Edit')}
        </Button>
        <Button
          small
          className="jp-OpenNotebook-delete"
          aria-label={trans.__('Delete %1', c.name)}
          disabled={props.busy}
          onClick={props.onDelete}
        >
          {trans.__('Delete')}
        </Button>
        {props.canTest && (
          <Button
            small
            className="jp-OpenNotebook-test"
            aria-label={trans.__('Test connection of %1', c.name)}
            aria-describedby={testId}
            disabled={props.busy || test?.state === 'running'}
            onClick={props.onTest}
          >
            {test?.state === 'running'
              ? trans.__('Testing…')
              : trans.__('Test connection')}
          </Button>
        )}
      </div>
      {props.canTest && <TestResult id={testId} test={test} trans={trans} />}
      {props.children}
    </li>
  );
}
