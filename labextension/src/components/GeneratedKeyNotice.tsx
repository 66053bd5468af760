/**
 * The generated-key notice: one line, a "details" toggle with what to back up
 * and how to bring your own key, and a dismiss button remembered (in this
 * browser) for that key file, so it does not shout on every visit.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { Button, closeIcon } from '@jupyterlab/ui-components';
import React, { useState } from 'react';

import { IStatus } from '../api';

export const KEY_ENV = 'OPEN_NOTEBOOK_ENCRYPTION_KEY';
export const KEY_FILE_ENV = 'OPEN_NOTEBOOK_ENCRYPTION_KEY_FILE';
/** localStorage entry: the key file whose notice was dismissed (a path, no secret). */
export const DISMISSED_KEY = 'open-notebook-ext:generated-key-notice-dismissed';

function dismissedFor(): string | null {
  try {
    return window.localStorage.getItem(DISMISSED_KEY);
  } catch {
    return null;
  }
}

export function GeneratedKeyNotice(props: {
  status: IStatus;
  trans: TranslationBundle;
}): JSX.Element | null {
  const { status, trans } = props;
  const file = status.key_file ?? '';
  const [dismissed, setDismissed] = useState(() => dismissedFor() === file);
  const [open, setOpen] = useState(false);
  if (dismissed) {
    return null;
  }
  return (
    <div
      className="jp-OpenNotebook-keyNotice"
      role="status"
      data-banner="generated"
      data-expanded={open}
    >
      <div className="jp-OpenNotebook-keyNoticeLine">
        <span className="jp-OpenNotebook-keyNoticeText">
          {trans.__('Using a generated encryption key.')}
        </span>
        <button
          type="button"
          className="jp-OpenNotebook-link"
          aria-expanded={open}
          onClick={() => setOpen(!open)}
        >
          {open ? trans.__('hide details') : trans.__('details')}
        </button>
        <Button
          small
          minimal
          className="jp-OpenNotebook-dismiss"
          aria-label={trans.__('Dismiss the generated key notice')}
          title={trans.__('Dismiss (in this browser, for this key file)')}
          onClick={() => {
            try {
              window.localStorage.setItem(DISMISSED_KEY, file);
            } catch {
              // private mode: dismissed for this visit only
            }
            setDismissed(true);
          }}
        >
          <closeIcon.react tag="span" />
        </Button>
      </div>
      {open && (
        <div className="jp-OpenNotebook-keyNoticeDetails">
          {trans.__('It is stored in')}{' '}
          <code className="jp-OpenNotebook-path">
            {status.key_file ?? trans.__('the data directory')}
          </code>
          .{' '}
          {trans.__(
            'Back it up: without it the stored API keys cannot be decrypted. To use your own key, set'
          )}{' '}
          <code className="jp-OpenNotebook-nowrap">{KEY_ENV}</code>{' '}
          {trans.__('or')}{' '}
          <code className="jp-OpenNotebook-nowrap">{KEY_FILE_ENV}</code>{' '}
          {trans.__('before starting Jupyter.')}
        </div>
      )}
    </div>
  );
}
