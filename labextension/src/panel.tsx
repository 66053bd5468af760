/**
 * The "Credentials" sidebar panel: lists, adds, edits and deletes the
 * AI-provider credentials stored by the server extension.
 *
 * Everything user-supplied is rendered as React text, never as HTML.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { ITranslator, TranslationBundle } from '@jupyterlab/translation';
import {
  addIcon,
  Button,
  ReactWidget,
  refreshIcon
} from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import React, { useCallback, useEffect, useRef, useState } from 'react';

import { ActivitySection } from './activity';
import {
  ApiError,
  CredentialsClient,
  ICredential,
  IGrant,
  IProvider,
  IStatus
} from './api';
import { StatusBanner } from './banner';
import { asApiError, CredentialForm } from './form';
import { NotebookAccess } from './grants';
import { keyIcon } from './icon';
import { CredentialItem, domId, TestState } from './item';
import { CurrentNotebook, INotebookRef } from './notebook';

export const PANEL_ID = 'open-notebook-credentials';

type Editor = { mode: 'add' } | { mode: 'edit'; credential: ICredential };

interface IData {
  providers: IProvider[];
  status: IStatus;
  credentials: ICredential[];
  canTest: boolean;
}

function ErrorState(props: {
  error: ApiError;
  trans: TranslationBundle;
  onRetry: () => void;
}): JSX.Element {
  const { error, trans } = props;
  let message: string;
  if (error.isUnauthenticated) {
    message = trans.__(
      'Your Jupyter session has expired or you are not logged in. Reload the page to sign in again.'
    );
  } else if (error.isNetwork) {
    message = trans.__(
      'Cannot reach the Jupyter server. Check that it is still running, then try again.'
    );
  } else {
    message = trans.__('Could not load credentials: %1', error.detail);
  }
  return (
    <div
      className="jp-OpenNotebook-state jp-OpenNotebook-error"
      role="alert"
      data-state={error.isUnauthenticated ? 'unauthenticated' : 'error'}
    >
      <p>{message}</p>
      {error.isUnauthenticated ? (
        <Button
          className="jp-mod-styled jp-mod-accept"
          onClick={() => window.location.reload()}
        >
          {trans.__('Reload page')}
        </Button>
      ) : (
        <Button className="jp-mod-styled jp-mod-accept" onClick={props.onRetry}>
          {trans.__('Try again')}
        </Button>
      )}
    </div>
  );
}

export function CredentialsView(props: {
  client: CredentialsClient;
  trans: TranslationBundle;
  refreshToken: number;
  notebooks: CurrentNotebook;
}): JSX.Element {
  const { client, trans, notebooks } = props;
  const [data, setData] = useState<IData | null>(null);
  const [loading, setLoading] = useState(true);
  const [loadError, setLoadError] = useState<ApiError | null>(null);
  const [editor, setEditor] = useState<Editor | null>(null);
  const [notice, setNotice] = useState('');
  const [actionError, setActionError] = useState<string | null>(null);
  const [busyId, setBusyId] = useState<string | null>(null);
  const [tests, setTests] = useState<Record<string, TestState>>({});
  const [grants, setGrants] = useState<IGrant[] | null>(null);
  const [grantBusy, setGrantBusy] = useState<Record<string, boolean>>({});
  const [grantErrors, setGrantErrors] = useState<Record<string, string>>({});
  const [expanded, setExpanded] = useState<Record<string, boolean>>({});
  const [notebook, setNotebook] = useState<INotebookRef | null>(
    notebooks.current
  );
  const [activityToken, setActivityToken] = useState(0);
  const addButton = useRef<HTMLButtonElement>(null);

  const refreshActivity = () => setActivityToken(n => n + 1);

  const loadGrants = useCallback(async () => {
    try {
      setGrants(await client.grants());
    } catch {
      // Shown in each credential's section ("could not be loaded").
      setGrants(null);
    }
  }, [client]);

  useEffect(() => {
    const onChanged = (_: CurrentNotebook, current: INotebookRef | null) => {
      setNotebook(current);
    };
    notebooks.changed.connect(onChanged);
    setNotebook(notebooks.current);
    return () => {
      notebooks.changed.disconnect(onChanged);
    };
  }, [notebooks]);

  useEffect(() => {
    // All grants are loaded, so another notebook in front needs no request;
    // a renamed one does: the server moved its grants to the new path. It
    // does so when it sees the rename event, which may be a moment after the
    // browser learns of the rename, hence a second look.
    if (!notebook?.renamedFrom) {
      return;
    }
    void loadGrants();
    const again = window.setTimeout(() => void loadGrants(), 1500);
    return () => window.clearTimeout(again);
  }, [loadGrants, notebook]);

  const load = useCallback(async () => {
    setLoading(true);
    setActivityToken(n => n + 1);
    void loadGrants();
    try {
      const [providers, status, credentials, canTest] = await Promise.all([
        client.providers(),
        client.status(),
        client.list(),
        client.supportsConnectionTest()
      ]);
      setData({ providers, status, credentials, canTest });
      setLoadError(null);
    } catch (reason) {
      setLoadError(asApiError(reason, trans));
    } finally {
      setLoading(false);
    }
  }, [client, trans, loadGrants]);

  useEffect(() => {
    void load();
  }, [load, props.refreshToken]);

  const sessionExpired = (error: ApiError) => {
    setEditor(null);
    setLoadError(error);
  };

  const providerLabel = (name: string) =>
    data?.providers.find(p => p.name === name)?.display_name ?? name;

  const closeEditor = () => {
    setEditor(null);
    // Give the focus back to where the user started.
    requestAnimationFrame(() => addButton.current?.focus());
  };

  const onSaved = (credential: ICredential, created: boolean) => {
    closeEditor();
    // A new key or base URL: the last test result no longer says anything.
    setTests(current => {
      const next = { ...current };
      delete next[credential.id];
      return next;
    });
    setNotice(
      created
        ? trans.__('Added credential “%1”.', credential.name)
        : trans.__('Saved credential “%1”.', credential.name)
    );
    void load();
  };

  const onDelete = async (credential: ICredential) => {
    const result = await showDialog({
      title: trans.__('Delete credential'),
      body: trans.__(
        'Delete “%1” (%2)? Its API key is deleted too. This cannot be undone.',
        credential.name,
        providerLabel(credential.provider)
      ),
      buttons: [
        Dialog.cancelButton({ label: trans.__('Cancel') }),
        Dialog.warnButton({ label: trans.__('Delete') })
      ]
    });
    if (!result.button.accept) {
      return;
    }
    setBusyId(credential.id);
    setActionError(null);
    try {
      await client.remove(credential.id);
      setNotice(trans.__('Deleted credential “%1”.', credential.name));
      if (editor?.mode === 'edit' && editor.credential.id === credential.id) {
        setEditor(null);
      }
    } catch (reason) {
      const error = asApiError(reason, trans);
      if (error.isUnauthenticated) {
        sessionExpired(error);
        return;
      }
      setActionError(
        trans.__('Could not delete “%1”: %2', credential.name, error.detail)
      );
    } finally {
      setBusyId(null);
    }
    await load();
  };

  const onTest = async (credential: ICredential) => {
    setTests(current => ({
      ...current,
      [credential.id]: { state: 'running' }
    }));
    let state: TestState;
    try {
      state = { state: 'done', result: await client.test(credential.id) };
    } catch (reason) {
      const error = asApiError(reason, trans);
      if (error.isUnauthenticated) {
        sessionExpired(error);
        return;
      }
      state = { state: 'failed', message: error.detail };
    }
    setTests(current => ({ ...current, [credential.id]: state }));
    refreshActivity();
  };

  /** Re-read one credential's grants after a change, keeping the others. */
  const reloadGrants = async (credentialId: string) => {
    try {
      const fresh = await client.grants(credentialId);
      setGrants(current => [
        ...(current ?? []).filter(g => g.credential_id !== credentialId),
        ...fresh
      ]);
    } catch {
      await loadGrants();
    }
  };

  /** Run one grant change for a credential: busy state, errors, refresh. */
  const changeGrant = async (
    credential: ICredential,
    change: () => Promise<string>,
    failure: string
  ) => {
    setGrantBusy(current => ({ ...current, [credential.id]: true }));
    setGrantErrors(current => {
      const next = { ...current };
      delete next[credential.id];
      return next;
    });
    try {
      setNotice(await change());
    } catch (reason) {
      const error = asApiError(reason, trans);
      if (error.isUnauthenticated) {
        sessionExpired(error);
        return;
      }
      setGrantErrors(current => ({
        ...current,
        [credential.id]: trans.__('%1: %2', failure, error.detail)
      }));
    } finally {
      setGrantBusy(current => {
        const next = { ...current };
        delete next[credential.id];
        return next;
      });
    }
    await reloadGrants(credential.id);
    refreshActivity();
  };

  const onAllowCurrent = (credential: ICredential, allow: boolean) => {
    const current = notebook;
    if (!current) {
      return;
    }
    const existing = grants?.find(
      g => g.credential_id === credential.id && g.notebook_path === current.path
    );
    if (allow) {
      void changeGrant(
        credential,
        async () => {
          await client.grant(credential.id, current.path);
          return trans.__(
            '%1 can now read “%2”.',
            current.name,
            credential.name
          );
        },
        trans.__('Could not allow %1', current.name)
      );
    } else if (existing) {
      void changeGrant(
        credential,
        async () => {
          await client.revokeGrant(existing.id);
          return trans.__(
            '%1 can no longer read “%2”.',
            current.name,
            credential.name
          );
        },
        trans.__('Could not revoke access of %1', current.name)
      );
    }
  };

  const onRevoke = async (credential: ICredential, grant: IGrant) => {
    const result = await showDialog({
      title: trans.__('Revoke access'),
      body: trans.__(
        '“%1” will no longer be able to read the key of “%2”: secrets.get(%3) will fail there.',
        grant.notebook_path,
        credential.name,
        JSON.stringify(credential.name)
      ),
      buttons: [
        Dialog.cancelButton({ label: trans.__('Cancel') }),
        Dialog.warnButton({ label: trans.__('Revoke') })
      ]
    });
    if (!result.button.accept) {
      return;
    }
    await changeGrant(
      credential,
      async () => {
        await client.revokeGrant(grant.id);
        return trans.__(
          '%1 can no longer read “%2”.',
          grant.notebook_path,
          credential.name
        );
      },
      trans.__('Could not revoke access of %1', grant.notebook_path)
    );
  };

  const canWriteKeys = !!data?.status.encryption_configured;
  const keyMismatch = data?.status.key_check === 'mismatch';

  const renderList = (list: ICredential[], canTest: boolean) => {
    if (list.length === 0) {
      return (
        <div className="jp-OpenNotebook-state" data-state="empty">
          <p>{trans.__('No credentials yet.')}</p>
          <p>
            {trans.__(
              'Add an API key for an AI provider: it is stored encrypted, and Open Notebook uses it to reach that provider.'
            )}
          </p>
        </div>
      );
    }
    const groups = new Map<string, ICredential[]>();
    for (const c of list) {
      groups.set(c.provider, [...(groups.get(c.provider) ?? []), c]);
    }
    const order = [...groups.keys()].sort((a, b) =>
      providerLabel(a).localeCompare(providerLabel(b))
    );
    return order.map(name => {
      const credentials = groups.get(name) ?? [];
      const headingId = domId('jp-OpenNotebook-group', name);
      return (
        <section
          key={name}
          className="jp-OpenNotebook-group"
          aria-labelledby={headingId}
          data-provider={name}
        >
          <h3 id={headingId} className="jp-OpenNotebook-groupTitle">
            {providerLabel(name)}{' '}
            <span className="jp-OpenNotebook-count">
              ({credentials.length})
            </span>
          </h3>
          <ul className="jp-OpenNotebook-list">
            {credentials.map(c => (
              <CredentialItem
                key={c.id}
                credential={c}
                providerLabel={providerLabel(c.provider)}
                trans={trans}
                canTest={canTest}
                test={tests[c.id]}
                busy={busyId === c.id}
                onEdit={() => {
                  setActionError(null);
                  setNotice('');
                  setEditor({ mode: 'edit', credential: c });
                }}
                onDelete={() => void onDelete(c)}
                onTest={() => void onTest(c)}
              >
                <NotebookAccess
                  credential={c}
                  trans={trans}
                  grants={
                    grants ? grants.filter(g => g.credential_id === c.id) : null
                  }
                  notebook={notebook}
                  busy={!!grantBusy[c.id]}
                  error={grantErrors[c.id] ?? null}
                  expanded={!!expanded[c.id]}
                  onExpandedChange={open =>
                    setExpanded(current => ({ ...current, [c.id]: open }))
                  }
                  onAllowCurrent={allow => onAllowCurrent(c, allow)}
                  onRevoke={grant => void onRevoke(c, grant)}
                />
              </CredentialItem>
            ))}
          </ul>
        </section>
      );
    });
  };

  let body: JSX.Element;
  if (loadError && (loadError.isUnauthenticated || !data)) {
    body = (
      <ErrorState error={loadError} trans={trans} onRetry={() => void load()} />
    );
  } else if (!data) {
    body = (
      <div
        className="jp-OpenNotebook-state"
        role="status"
        aria-busy="true"
        data-state="loading"
      >
        {trans.__('Loading credentials…')}
      </div>
    );
  } else {
    body = (
      <>
        <StatusBanner status={data.status} trans={trans} />
        {loadError && (
          <div className="jp-OpenNotebook-formError" role="alert">
            {loadError.isNetwork
              ? trans.__(
                  'Cannot reach the Jupyter server. Check that it is still running, then try again.'
                )
              : trans.__('Could not refresh: %1', loadError.detail)}
          </div>
        )}
        {actionError && (
          <div className="jp-OpenNotebook-formError" role="alert">
            {actionError}
          </div>
        )}
        {editor && (
          <CredentialForm
            key={editor.mode === 'edit' ? editor.credential.id : 'add'}
            client={client}
            trans={trans}
            providers={data.providers}
            credential={editor.mode === 'edit' ? editor.credential : undefined}
            canWriteKeys={canWriteKeys}
            keyMismatch={keyMismatch}
            onSaved={onSaved}
            onCancel={closeEditor}
            onSessionExpired={sessionExpired}
          />
        )}
        {renderList(data.credentials, data.canTest)}
        <ActivitySection
          client={client}
          trans={trans}
          refreshToken={activityToken}
        />
      </>
    );
  }

  const addDisabled = !data || !!editor || !canWriteKeys || !!loadError;
  return (
    <div className="jp-OpenNotebook-root" aria-busy={loading}>
      <div className="jp-OpenNotebook-header">
        <h2 className="jp-OpenNotebook-title">{trans.__('Credentials')}</h2>
        <Button
          minimal
          small
          className="jp-OpenNotebook-refresh"
          aria-label={trans.__('Refresh credentials')}
          title={trans.__('Refresh credentials')}
          disabled={loading}
          onClick={() => void load()}
        >
          <refreshIcon.react tag="span" />
        </Button>
      </div>
      <div className="jp-OpenNotebook-addRow">
        <button
          ref={addButton}
          type="button"
          className="jp-Button jp-mod-styled jp-mod-accept jp-OpenNotebook-add"
          disabled={addDisabled}
          title={
            data && !canWriteKeys
              ? trans.__('Configure an encryption key to add credentials')
              : undefined
          }
          onClick={() => {
            setActionError(null);
            setNotice('');
            setEditor({ mode: 'add' });
          }}
        >
          <addIcon.react tag="span" className="jp-OpenNotebook-addIcon" />{' '}
          {trans.__('Add credential')}
        </button>
      </div>
      <div className="jp-OpenNotebook-notice" role="status" aria-live="polite">
        {notice}
      </div>
      <div className="jp-OpenNotebook-body">{body}</div>
    </div>
  );
}

/**
 * The sidebar widget. Nothing is requested before the panel is first shown;
 * the list is loaded then, and again each time the panel is shown.
 */
export class CredentialsPanel extends ReactWidget {
  constructor(
    private readonly client: CredentialsClient,
    translator: ITranslator,
    private readonly notebooks: CurrentNotebook
  ) {
    super();
    this.trans = translator.load('open_notebook_ext');
    this.id = PANEL_ID;
    this.addClass('jp-OpenNotebook-panel');
    this.title.icon = keyIcon;
    this.title.caption = this.trans.__('Credentials');
    this.node.setAttribute('role', 'region');
    this.node.setAttribute(
      'aria-label',
      this.trans.__('Open Notebook credentials')
    );
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    if (this.shown) {
      this.refreshToken++;
    }
    this.shown = true;
    this.update();
  }

  protected render(): JSX.Element | null {
    if (!this.shown) {
      return null;
    }
    return (
      <CredentialsView
        client={this.client}
        trans={this.trans}
        refreshToken={this.refreshToken}
        notebooks={this.notebooks}
      />
    );
  }

  private readonly trans: TranslationBundle;
  private refreshToken = 0;
  private shown = false;
}
