/**
 * Everything the Credentials panel shows and does, out of its components:
 * the list, the editor, notices, deletes, connection tests and grants, and
 * what a 401 anywhere does (the panel then asks to sign in again).
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { useCallback, useEffect, useState } from 'react';

import { ApiError, asApiError, CredentialsClient, ICredential } from '../api';
import {
  CurrentNotebook,
  INotebookRef,
  useCurrentNotebook
} from './currentNotebook';
import {
  IConnectionTestsModel,
  useConnectionTests
} from './useConnectionTests';
import { ICredentialsModel, useCredentials } from './useCredentials';
import { IEnvImportModel, useEnvImport } from './useEnvImport';
import { IGrantsModel, useGrants } from './useGrants';

/** The form that is open: adding, or editing one credential. */
export type Editor =
  { mode: 'add' } | { mode: 'edit'; credential: ICredential };

export interface IPanelOptions {
  client: CredentialsClient;
  trans: TranslationBundle;
  notebooks: CurrentNotebook;
  /** Changes each time the panel is shown again: everything is reloaded. */
  refreshToken: number;
}

export interface IPanelModel {
  list: ICredentialsModel;
  grants: IGrantsModel;
  tests: IConnectionTestsModel;
  /** "Import from environment" (names found, the chosen providers imported). */
  envImport: IEnvImportModel;
  /** The notebook in front, offered a grant switch on each credential. */
  notebook: INotebookRef | null;
  /** Changes whenever the audit log has news (the Activity section reloads). */
  activityToken: number;
  editor: Editor | null;
  /** The last change that went through, announced politely. */
  notice: string;
  /** The last delete that failed, as text. */
  actionError: string | null;
  /** The credential being deleted. */
  busyId: string | null;
  /** The server has an encryption key: keys can be added. */
  canWriteKeys: boolean;
  /** The server's key does not match the stored keys: none can be written. */
  keyMismatch: boolean;
  addDisabled: boolean;
  reload: () => Promise<void>;
  openAdd: () => void;
  openEdit: (credential: ICredential) => void;
  closeEditor: () => void;
  /** The form saved `credential` (a new one when `created`). */
  saved: (credential: ICredential, created: boolean) => void;
  /** Delete a credential (the caller has asked the user first). */
  remove: (credential: ICredential) => Promise<void>;
  sessionExpired: (error: ApiError) => void;
}

export function usePanel(options: IPanelOptions): IPanelModel {
  const { client, trans, notebooks, refreshToken } = options;
  const [editor, setEditor] = useState<Editor | null>(null);
  const [notice, setNotice] = useState('');
  const [actionError, setActionError] = useState<string | null>(null);
  const [busyId, setBusyId] = useState<string | null>(null);
  const [activityToken, setActivityToken] = useState(0);
  const notebook = useCurrentNotebook(notebooks);
  const list = useCredentials(client, trans);
  const { expire } = list;

  const refreshActivity = useCallback(() => setActivityToken(n => n + 1), []);
  const sessionExpired = useCallback(
    (error: ApiError) => {
      setEditor(null);
      expire(error);
    },
    [expire]
  );
  const grants = useGrants(client, trans, notebook, {
    onNotice: setNotice,
    onSessionExpired: sessionExpired,
    onChanged: refreshActivity
  });
  const tests = useConnectionTests(client, trans, {
    onSessionExpired: sessionExpired,
    onDone: refreshActivity
  });

  const { load } = list;
  const { loadAll } = grants;
  const reload = useCallback(async () => {
    refreshActivity();
    void loadAll();
    await load();
  }, [refreshActivity, loadAll, load]);
  const envImport = useEnvImport(client, trans, {
    onImported: message => {
      setNotice(message);
      void reload();
    },
    onSessionExpired: sessionExpired
  });

  useEffect(() => {
    void reload();
  }, [reload, refreshToken]);

  const open = (next: Editor) => {
    setActionError(null);
    setNotice('');
    setEditor(next);
  };

  const saved = (credential: ICredential, created: boolean) => {
    setEditor(null);
    // A new key or base URL: the last test result no longer says anything.
    tests.forget(credential.id);
    setNotice(
      created
        ? trans.__('Added credential “%1”.', credential.name)
        : trans.__('Saved credential “%1”.', credential.name)
    );
    void reload();
  };

  const remove = async (credential: ICredential) => {
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
    await reload();
  };

  const { data, loadError } = list;
  const canWriteKeys = !!data?.status.encryption_configured;
  return {
    list,
    grants,
    tests,
    envImport,
    notebook,
    activityToken,
    editor,
    notice,
    actionError,
    busyId,
    canWriteKeys,
    keyMismatch: data?.status.key_check === 'mismatch',
    addDisabled: !data || !!editor || !canWriteKeys || !!loadError,
    reload,
    openAdd: () => open({ mode: 'add' }),
    openEdit: credential => open({ mode: 'edit', credential }),
    closeEditor: () => setEditor(null),
    saved,
    remove,
    sessionExpired
  };
}
