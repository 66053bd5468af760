/**
 * The encryption status banner, from `GET credentials/status`.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import React from 'react';

import { IStatus } from '../api';
import {
  GeneratedKeyNotice,
  KEY_ENV,
  KEY_FILE_ENV
} from './GeneratedKeyNotice';

export { KEY_ENV, KEY_FILE_ENV };
export const KEYS_ENV = 'OPEN_NOTEBOOK_ENCRYPTION_KEYS';
export const ROTATE_COMMAND = 'jupyter open-notebook rotate';

export function StatusBanner(props: {
  status: IStatus;
  trans: TranslationBundle;
}): JSX.Element {
  const { status, trans } = props;
  const banners: JSX.Element[] = [];
  if (status.key_check === 'mismatch') {
    banners.push(
      <div
        key="mismatch"
        className="jp-OpenNotebook-banner jp-mod-error"
        role="alert"
        data-banner="mismatch"
      >
        <strong>{trans.__('Encryption key mismatch.')}</strong>{' '}
        {trans.__(
          'The configured key is not the one these credentials were saved with, so their API keys cannot be decrypted, and no API key can be added or replaced until this is fixed (it would mix two keys in one database).'
        )}{' '}
        {trans.__(
          'Start Jupyter with the original key. To move to this key, configure both keys, this one first:'
        )}{' '}
        <code>{`${KEYS_ENV}="<this key>,<original key>"`}</code>{' '}
        {trans.__('(or OpenNotebookApp.encryption_keys), restart, and run')}{' '}
        <code>{ROTATE_COMMAND}</code>.
      </div>
    );
  }
  if (!status.encryption_configured || status.key_source === 'none') {
    banners.push(
      <div
        key="none"
        className="jp-OpenNotebook-banner jp-mod-warning"
        role="alert"
        data-banner="no-key"
      >
        <strong>{trans.__('No encryption key is configured.')}</strong>{' '}
        {trans.__('API keys cannot be added or replaced. Set')}{' '}
        <code>{KEY_ENV}</code>{' '}
        {trans.__('(or %1, the path of a file holding the key)', KEY_FILE_ENV)}{' '}
        {trans.__('and restart Jupyter.')}
      </div>
    );
  } else if (status.key_source === 'generated') {
    banners.push(
      <GeneratedKeyNotice key="generated" status={status} trans={trans} />
    );
  } else {
    let source: string;
    if (status.key_source === 'env') {
      source = trans.__('the %1 environment variable', KEY_ENV);
    } else if (status.key_source === 'file') {
      source = trans.__(
        'the file %1 (%2)',
        status.key_file ?? '',
        KEY_FILE_ENV
      );
    } else {
      source = trans.__(
        'the Jupyter configuration (OpenNotebookApp.encryption_key)'
      );
    }
    banners.push(
      <div
        key="ok"
        className="jp-OpenNotebook-banner jp-mod-info"
        role="status"
        data-banner="configured"
      >
        {trans.__('API keys are encrypted with the key from %1.', source)}
      </div>
    );
  }
  const undecryptable = status.counts?.undecryptable ?? 0;
  if (undecryptable > 0 && status.key_check !== 'mismatch') {
    banners.push(
      <div
        key="undecryptable"
        className="jp-OpenNotebook-banner jp-mod-error"
        role="status"
        data-banner="undecryptable"
      >
        {trans._n(
          '%1 stored API key cannot be decrypted.',
          '%1 stored API keys cannot be decrypted.',
          undecryptable
        )}{' '}
        {trans.__(
          'Enter a new key for the credentials marked below, or delete them.'
        )}
      </div>
    );
  }
  return (
    <div className="jp-OpenNotebook-banners">
      {banners}
      <IsolationLine status={status} trans={trans} />
    </div>
  );
}

/**
 * One quiet line saying what a grant protects where kernels run
 * (`kernel_isolation`); docs/operators/kernel-isolation.md has the detail.
 */
export function IsolationLine(props: {
  status: IStatus;
  trans: TranslationBundle;
}): JSX.Element | null {
  const { status, trans } = props;
  if (status.kernel_isolation === undefined) {
    return null; // an older server
  }
  const text =
    status.kernel_isolation === 'gateway'
      ? trans.__(
          'Kernels are isolated (Kernel Gateway): notebook code reaches only the keys granted to its notebook.'
        )
      : trans.__(
          "Kernels run as the server's user: grants limit what the API hands out, not what notebook code can read."
        );
  return (
    <div
      className="jp-OpenNotebook-quiet"
      data-isolation={status.kernel_isolation}
      title={trans.__('kernel_isolation: %1', status.kernel_isolation)}
    >
      {text}
    </div>
  );
}
