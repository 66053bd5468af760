/**
 * "Use in code": the line that reads this credential's key in a notebook or
 * console, and a button that copies it (with its import) to the clipboard.
 */
import { Clipboard } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { Button, copyIcon } from '@jupyterlab/ui-components';
import React, { useEffect, useState } from 'react';

import { ICredential } from '../api';

/** How long "Copied" stays. */
export const COPIED_MS = 2500;

/** `secrets.get("Work")`, with the provider when another credential has the name. */
export function readCall(credential: ICredential, ambiguous: boolean): string {
  const name = JSON.stringify(credential.name);
  return ambiguous
    ? `secrets.get(${name}, provider=${JSON.stringify(credential.provider)})`
    : `secrets.get(${name})`;
}

/** What the button copies: ready to paste into a cell. */
export function snippet(credential: ICredential, ambiguous: boolean): string {
  return `from open_notebook_ext import secrets\nkey = ${readCall(credential, ambiguous)}\n`;
}

export function UseInCode(props: {
  credential: ICredential;
  ambiguous: boolean;
  trans: TranslationBundle;
}): JSX.Element {
  const { credential, ambiguous, trans } = props;
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    if (!copied) {
      return;
    }
    const done = window.setTimeout(() => setCopied(false), COPIED_MS);
    return () => window.clearTimeout(done);
  }, [copied]);
  return (
    <div className="jp-OpenNotebook-useInCode">
      <code
        className="jp-OpenNotebook-snippet"
        title={snippet(credential, ambiguous)}
      >
        {readCall(credential, ambiguous)}
      </code>
      <Button
        small
        minimal
        className="jp-OpenNotebook-copy"
        aria-label={trans.__('Copy the code that reads %1', credential.name)}
        title={trans.__('Copy to paste into a notebook cell (with its import)')}
        onClick={() => {
          Clipboard.copyToSystem(snippet(credential, ambiguous));
          setCopied(true);
        }}
      >
        <copyIcon.react tag="span" className="jp-OpenNotebook-copyIcon" />
      </Button>
      <span className="jp-OpenNotebook-meta" role="status" aria-live="polite">
        {copied ? trans.__('Copied') : ''}
      </span>
    </div>
  );
}
