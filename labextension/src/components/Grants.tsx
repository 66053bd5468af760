/**
 * "Notebooks with access": the notebooks granted one credential, a revoke
 * button for each, and a switch for the notebook open in the main area.
 *
 * Paths and names are user input: rendered as React text only.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import {
  Button,
  caretDownIcon,
  caretRightIcon
} from '@jupyterlab/ui-components';
import React, { useState } from 'react';

import { ICredential, IGrant } from '../api';
import { INotebookRef, IUsageCounts } from '../model';
import { domId } from '../utils';

export interface INotebookAccessProps {
  credential: ICredential;
  trans: TranslationBundle;
  /** This credential's grants; null while they are not loaded (or failed to). */
  grants: IGrant[] | null;
  /** The notebook open in the main area, if any. */
  notebook: INotebookRef | null;
  /** A grant change for this credential is under way. */
  busy: boolean;
  /** The last grant change that failed, as text. */
  error: string | null;
  /** Turn the current notebook's access on or off. */
  onAllowCurrent: (allow: boolean) => void;
  onRevoke: (grant: IGrant) => void;
  /** Notebook path to its proxied use of this key over 30 days, if any. */
  notebookUsage?: Record<string, IUsageCounts>;
}

/** The one line that says what a grant does. */
export function grantExplanation(
  name: string,
  trans: TranslationBundle
): string {
  return trans.__(
    'Code in these notebooks can read this key with secrets.get(%1); other notebooks cannot.',
    JSON.stringify(name)
  );
}

export function NotebookAccess(props: INotebookAccessProps): JSX.Element {
  const { credential: c, trans, grants, notebook, busy } = props;
  const [expanded, setExpanded] = useState(false);
  const bodyId = domId('jp-OpenNotebook-access', c.id);
  const switchId = domId('jp-OpenNotebook-allow', c.id);
  const current = notebook
    ? (grants?.find(g => g.notebook_path === notebook.path) ?? null)
    : null;
  const Caret = expanded ? caretDownIcon : caretRightIcon;
  return (
    <div className="jp-OpenNotebook-access" data-expanded={expanded}>
      {notebook && (
        <div className="jp-OpenNotebook-allow">
          <input
            id={switchId}
            type="checkbox"
            role="switch"
            className="jp-OpenNotebook-allowSwitch"
            checked={current !== null}
            disabled={busy || grants === null}
            title={grantExplanation(c.name, trans)}
            onChange={event =>
              props.onAllowCurrent(event.currentTarget.checked)
            }
          />
          <label htmlFor={switchId} title={notebook.path}>
            {notebook.kind === 'console'
              ? trans.__('Allow this console to read this key')
              : trans.__('Allow %1 to read this key', notebook.name)}
          </label>
        </div>
      )}
      <button
        type="button"
        className="jp-OpenNotebook-disclosure"
        aria-expanded={expanded}
        aria-controls={bodyId}
        onClick={() => setExpanded(!expanded)}
      >
        <Caret.react tag="span" className="jp-OpenNotebook-caret" />
        {trans.__('Notebooks with access')}
        {grants !== null && (
          <span className="jp-OpenNotebook-count"> ({grants.length})</span>
        )}
      </button>
      {expanded && (
        <div id={bodyId} className="jp-OpenNotebook-accessBody">
          <div className="jp-OpenNotebook-help">
            {grantExplanation(c.name, trans)}
          </div>
          {grants === null ? (
            <div className="jp-OpenNotebook-help">
              {trans.__('The list of notebooks could not be loaded.')}
            </div>
          ) : grants.length === 0 ? (
            <div className="jp-OpenNotebook-help" data-state="no-grants">
              {notebook
                ? trans.__('No notebook can read this key yet.')
                : trans.__(
                    'No notebook can read this key yet. Open a notebook to allow it here.'
                  )}
            </div>
          ) : (
            <ul
              className="jp-OpenNotebook-grants"
              aria-label={trans.__('Notebooks that can read %1', c.name)}
            >
              {grants.map(g => (
                <li
                  key={g.id}
                  className="jp-OpenNotebook-grant"
                  data-grant-id={g.id}
                >
                  <span
                    className="jp-OpenNotebook-grantPath"
                    title={g.notebook_path}
                  >
                    {g.notebook_path}
                  </span>
                  {notebook?.path === g.notebook_path && (
                    <span className="jp-OpenNotebook-meta jp-OpenNotebook-grantOpen">
                      {trans.__('(open)')}
                    </span>
                  )}
                  {props.notebookUsage?.[g.notebook_path] && (
                    <span
                      className="jp-OpenNotebook-meta jp-OpenNotebook-grantUsage"
                      data-usage-notebook={g.notebook_path}
                    >
                      {trans.__(
                        'proxy: %1 requests, %2 tokens (30 days)',
                        props.notebookUsage[g.notebook_path].requests,
                        props.notebookUsage[g.notebook_path].tokens
                      )}
                    </span>
                  )}
                  <Button
                    small
                    className="jp-OpenNotebook-revoke"
                    aria-label={trans.__(
                      'Revoke access of %1',
                      g.notebook_path
                    )}
                    disabled={busy}
                    onClick={() => props.onRevoke(g)}
                  >
                    {trans.__('Revoke')}
                  </Button>
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      {props.error && (
        <div className="jp-OpenNotebook-formError" role="alert">
          {props.error}
        </div>
      )}
    </div>
  );
}
