/**
 * The "Credentials" panel: the header, the add button, notices, and the body
 * (loading, an error, or the banner, the form, the list and the activity).
 * Its state and requests live in `usePanel`.
 *
 * Everything user-supplied is rendered as React text, never as HTML.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { addIcon, Button, refreshIcon } from '@jupyterlab/ui-components';
import React, { useRef } from 'react';

import { CredentialsClient, ICredential, IGrant } from '../api';
import { CurrentNotebook, IPanelModel, usePanel, useUsage } from '../model';
import { ActivitySection } from './Activity';
import { StatusBanner } from './Banner';
import { CredentialForm } from './Form';
import { CredentialList } from './CredentialList';
import { confirmDelete, confirmRevoke } from './dialogs';
import { EnvImportSection } from './EnvImport';
import { ErrorState } from './ErrorState';

export interface ICredentialsViewProps {
  client: CredentialsClient;
  trans: TranslationBundle;
  refreshToken: number;
  notebooks: CurrentNotebook;
}

export function CredentialsView(props: ICredentialsViewProps): JSX.Element {
  const { client, trans } = props;
  const model = usePanel(props);
  // proxy usage per credential, loaded again whenever the list is
  const usage = useUsage(client, model.list.data);
  const { data, loading, loadError } = model.list;
  const addButton = useRef<HTMLButtonElement>(null);

  const closeEditor = () => {
    model.closeEditor();
    // Give the focus back to where the user started.
    requestAnimationFrame(() => addButton.current?.focus());
  };

  const onDelete = async (credential: ICredential) => {
    const label = model.list.providerLabel(credential.provider);
    const users = model.grants.forCredential(credential.id);
    if (await confirmDelete(credential, label, trans, users)) {
      await model.remove(credential);
    }
  };

  const onRevoke = async (credential: ICredential, grant: IGrant) => {
    if (await confirmRevoke(credential, grant, trans)) {
      await model.grants.revoke(credential, grant);
    }
  };

  let body: JSX.Element;
  if (loadError && (loadError.isUnauthenticated || !data)) {
    body = (
      <ErrorState
        error={loadError}
        trans={trans}
        onRetry={() => void model.reload()}
      />
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
        <Alerts model={model} trans={trans} />
        <EnvImportSection model={model.envImport} trans={trans} />
        {model.editor && (
          <CredentialForm
            key={
              model.editor.mode === 'edit' ? model.editor.credential.id : 'add'
            }
            client={client}
            trans={trans}
            providers={data.providers}
            credential={
              model.editor.mode === 'edit' ? model.editor.credential : undefined
            }
            canWriteKeys={model.canWriteKeys}
            keyMismatch={model.keyMismatch}
            grants={
              model.editor.mode === 'edit'
                ? model.grants.forCredential(model.editor.credential.id)
                : null
            }
            onSaved={(credential, created) => {
              closeEditor();
              model.saved(credential, created);
            }}
            onCancel={closeEditor}
            onSessionExpired={model.sessionExpired}
          />
        )}
        <CredentialList
          credentials={data.credentials}
          trans={trans}
          providerLabel={model.list.providerLabel}
          canTest={model.list.canTest}
          tests={model.tests.tests}
          usage={usage}
          busyId={model.busyId}
          grants={model.grants}
          notebook={model.notebook}
          onEdit={model.openEdit}
          onDelete={c => void onDelete(c)}
          onTest={c => void model.tests.run(c)}
          onRevoke={(c, grant) => void onRevoke(c, grant)}
        />
        <ActivitySection
          client={client}
          trans={trans}
          refreshToken={model.activityToken}
        />
      </>
    );
  }

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
          onClick={() => void model.reload()}
        >
          <refreshIcon.react tag="span" />
        </Button>
      </div>
      <div className="jp-OpenNotebook-addRow">
        <button
          ref={addButton}
          type="button"
          className="jp-Button jp-mod-styled jp-mod-accept jp-OpenNotebook-add"
          disabled={model.addDisabled}
          title={
            data && !model.canWriteKeys
              ? trans.__('Configure an encryption key to add credentials')
              : undefined
          }
          onClick={model.openAdd}
        >
          <addIcon.react tag="span" className="jp-OpenNotebook-addIcon" />{' '}
          {trans.__('Add credential')}
        </button>
        <button
          type="button"
          className="jp-Button jp-mod-styled jp-OpenNotebook-importEnv"
          disabled={
            model.addDisabled || model.envImport.open || model.envImport.busy
          }
          title={trans.__(
            'Import provider keys (OPENAI_API_KEY, …) from the server environment or .env'
          )}
          onClick={() => void model.envImport.show()}
        >
          {trans.__('Import from environment')}
        </button>
      </div>
      <div className="jp-OpenNotebook-notice" role="status" aria-live="polite">
        {model.notice}
      </div>
      <div className="jp-OpenNotebook-body">{body}</div>
    </div>
  );
}

/** A failed refresh (the list stays) and a failed delete, above the list. */
function Alerts(props: {
  model: IPanelModel;
  trans: TranslationBundle;
}): JSX.Element {
  const { model, trans } = props;
  const { loadError } = model.list;
  return (
    <>
      {loadError && (
        <div className="jp-OpenNotebook-formError" role="alert">
          {loadError.isNetwork
            ? trans.__(
                'Cannot reach the Jupyter server. Check that it is still running, then try again.'
              )
            : trans.__('Could not refresh: %1', loadError.detail)}
        </div>
      )}
      {model.actionError && (
        <div className="jp-OpenNotebook-formError" role="alert">
          {model.actionError}
        </div>
      )}
    </>
  );
}
