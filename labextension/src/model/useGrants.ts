/**
 * Grants: which notebooks may read which credential's key. All of the
 * user's grants are loaded at once, so switching notebooks needs no request;
 * after a change only that credential's grants are read again.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { useCallback, useEffect, useState } from 'react';

import {
  ApiError,
  asApiError,
  CredentialsClient,
  ICredential,
  IGrant
} from '../api';
import { without } from '../utils';
import { INotebookRef } from './currentNotebook';

/** How long after a rename the grants are read a second time. */
export const RENAME_RECHECK_MS = 1500;

/** Callbacks; keep them stable (state setters, `useCallback`). */
export interface IGrantsOptions {
  /** A change went through: the sentence to announce. */
  onNotice: (notice: string) => void;
  onSessionExpired: (error: ApiError) => void;
  /** A grant was changed (or a change failed): the audit log has news. */
  onChanged?: () => void;
}

export interface IGrantsModel {
  /** Every grant of the user; null while not loaded (or when loading failed). */
  grants: IGrant[] | null;
  /** Credential ids with a grant change under way. */
  busy: Record<string, boolean>;
  /** Credential id to the last failed change, as text. */
  errors: Record<string, string>;
  loadAll: () => Promise<void>;
  /** One credential's grants; null while the list is not loaded. */
  forCredential: (credentialId: string) => IGrant[] | null;
  /** Let `notebook` read the credential's key. */
  allow: (credential: ICredential, notebook: INotebookRef) => Promise<void>;
  /** Revoke a grant; `label` names its notebook in messages. */
  revoke: (
    credential: ICredential,
    grant: IGrant,
    label?: string
  ) => Promise<void>;
  /** The switch for the notebook in front: allow it, or revoke its grant. */
  allowCurrent: (credential: ICredential, allow: boolean) => Promise<void>;
}

export function useGrants(
  client: CredentialsClient,
  trans: TranslationBundle,
  notebook: INotebookRef | null,
  options: IGrantsOptions
): IGrantsModel {
  const [grants, setGrants] = useState<IGrant[] | null>(null);
  const [busy, setBusy] = useState<Record<string, boolean>>({});
  const [errors, setErrors] = useState<Record<string, string>>({});
  const { onNotice, onSessionExpired, onChanged } = options;

  const loadAll = useCallback(async () => {
    try {
      setGrants(await client.grants());
    } catch {
      // Shown in each credential's section ("could not be loaded").
      setGrants(null);
    }
  }, [client]);

  useEffect(() => {
    // Another notebook in front needs no request; a renamed one does: the
    // server moved its grants to the new path. It does so when it sees the
    // rename event, which may be a moment after the browser learns of the
    // rename, hence a second look.
    if (!notebook?.renamedFrom) {
      return;
    }
    void loadAll();
    const again = window.setTimeout(() => void loadAll(), RENAME_RECHECK_MS);
    return () => window.clearTimeout(again);
  }, [loadAll, notebook]);

  /** Re-read one credential's grants after a change, keeping the others. */
  const reloadFor = useCallback(
    async (credentialId: string) => {
      try {
        const fresh = await client.grants(credentialId);
        setGrants(current => [
          ...(current ?? []).filter(g => g.credential_id !== credentialId),
          ...fresh
        ]);
      } catch {
        await loadAll();
      }
    },
    [client, loadAll]
  );

  /** Run one grant change for a credential: busy state, errors, refresh. */
  const change = useCallback(
    async (
      credential: ICredential,
      run: () => Promise<string>,
      failure: string
    ) => {
      setBusy(current => ({ ...current, [credential.id]: true }));
      setErrors(current => without(current, credential.id));
      try {
        onNotice(await run());
      } catch (reason) {
        const error = asApiError(reason, trans);
        if (error.isUnauthenticated) {
          onSessionExpired(error);
          return;
        }
        setErrors(current => ({
          ...current,
          [credential.id]: trans.__('%1: %2', failure, error.detail)
        }));
      } finally {
        setBusy(current => without(current, credential.id));
      }
      await reloadFor(credential.id);
      onChanged?.();
    },
    [trans, reloadFor, onNotice, onSessionExpired, onChanged]
  );

  const allow = useCallback(
    (credential: ICredential, target: INotebookRef) =>
      change(
        credential,
        async () => {
          await client.grant(credential.id, target.path);
          return trans.__(
            '%1 can now read “%2”.',
            target.name,
            credential.name
          );
        },
        trans.__('Could not allow %1', target.name)
      ),
    [client, trans, change]
  );

  const revoke = useCallback(
    (credential: ICredential, grant: IGrant, label?: string) => {
      const name = label ?? grant.notebook_path;
      return change(
        credential,
        async () => {
          await client.revokeGrant(grant.id);
          return trans.__('%1 can no longer read “%2”.', name, credential.name);
        },
        trans.__('Could not revoke access of %1', name)
      );
    },
    [client, trans, change]
  );

  const allowCurrent = async (credential: ICredential, on: boolean) => {
    if (!notebook) {
      return;
    }
    if (on) {
      return allow(credential, notebook);
    }
    const existing = grants?.find(
      g =>
        g.credential_id === credential.id && g.notebook_path === notebook.path
    );
    if (existing) {
      return revoke(credential, existing, notebook.name);
    }
  };

  const forCredential = (credentialId: string) =>
    grants ? grants.filter(g => g.credential_id === credentialId) : null;

  return {
    grants,
    busy,
    errors,
    loadAll,
    forCredential,
    allow,
    revoke,
    allowCurrent
  };
}
