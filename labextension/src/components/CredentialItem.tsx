/**
 * One credential in the list.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { Button } from '@jupyterlab/ui-components';
import React from 'react';

import { ICredential } from '../api';
import { ICredentialUsage, TestState } from '../model';
import { domId, formatTime } from '../utils';
import { TestResult } from './TestResult';

export interface ICredentialItemProps {
  credential: ICredential;
  providerLabel: string;
  trans: TranslationBundle;
  canTest: boolean;
  test?: TestState;
  /** Provider proxy usage (today, 30 days); none when never used. */
  usage?: ICredentialUsage;
  busy: boolean;
  onEdit: () => void;
  onDelete: () => void;
  onTest: () => void;
  /** More sections of the entry (notebooks with access). */
  children?: React.ReactNode;
}

export function CredentialItem(props: ICredentialItemProps): JSX.Element {
  const { credential: c, trans, test } = props;
  // A hub group's credential (service mode): used through the proxy, managed by an
  // admin of the service, so neither edited, deleted nor tested from here.
  const shared = c.shared === true;
  const canTest = props.canTest && !shared;
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
      {c.key_access === 'proxy' && (
        <div
          className="jp-OpenNotebook-badge jp-OpenNotebook-proxyOnly"
          title={trans.__(
            'Notebook code uses this key through the provider proxy (secrets.proxy) and never receives it.'
          )}
        >
          {trans.__('Proxy only')}
        </div>
      )}
      {shared && (
        <div
          className="jp-OpenNotebook-badge jp-OpenNotebook-shared"
          title={trans.__(
            'Your hub group shares this key: use it through the provider proxy. Only an admin of the service can change it.'
          )}
        >
          {trans.__('Shared by group %1', c.group ?? '')}
        </div>
      )}
      {props.usage && (
        <div className="jp-OpenNotebook-meta jp-OpenNotebook-usage">
          <span className="jp-OpenNotebook-metaLabel">
            {trans.__('Proxy use')}
          </span>{' '}
          {trans.__(
            'today %1 requests, %2 tokens · 30 days %3 requests, %4 tokens',
            props.usage.today.requests,
            props.usage.today.tokens,
            props.usage.days30.requests,
            props.usage.days30.tokens
          )}
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
        {!shared && (
          <>
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
          </>
        )}
        {canTest && (
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
      {canTest && (
        <TestResult
          id={testId}
          test={test}
          trans={trans}
          providerLabel={id => (id === c.provider ? props.providerLabel : id)}
        />
      )}
      {props.children}
    </li>
  );
}
