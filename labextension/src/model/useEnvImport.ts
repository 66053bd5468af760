/**
 * "Import from environment": which providers' variables the server found
 * (names only, in its environment and in `.env`), which ones the user
 * picked, and the import of the picked ones.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { useCallback, useState } from 'react';

import {
  ApiError,
  asApiError,
  CredentialsClient,
  EnvImportSource,
  IEnvImportListing,
  IEnvImportProvider
} from '../api';

export interface IEnvImportOptions {
  /** The import went through: announce it and reload the list. */
  onImported: (message: string) => void;
  onSessionExpired: (error: ApiError) => void;
}

export interface IEnvImportModel {
  /** The section is shown. */
  open: boolean;
  /** null while loading (or after a failed load). */
  listing: IEnvImportListing | null;
  /** The last failure, as text. */
  error: string | null;
  busy: boolean;
  /** The picked providers of each source. */
  selected: Record<EnvImportSource, string[]>;
  /** Take the imported variables out of `.env` afterwards. */
  removeFromDotenv: boolean;
  show: () => Promise<void>;
  hide: () => void;
  toggle: (source: EnvImportSource, provider: string) => void;
  setRemoveFromDotenv: (remove: boolean) => void;
  importSelected: (source: EnvImportSource) => Promise<void>;
}

/** A provider can be imported: its variables suffice and it has no credential. */
export function importable(p: IEnvImportProvider): boolean {
  return p.configured && p.credentials === 0;
}

const NONE: Record<EnvImportSource, string[]> = { environment: [], dotenv: [] };

export function useEnvImport(
  client: CredentialsClient,
  trans: TranslationBundle,
  options: IEnvImportOptions
): IEnvImportModel {
  const { onImported, onSessionExpired } = options;
  const [open, setOpen] = useState(false);
  const [listing, setListing] = useState<IEnvImportListing | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [selected, setSelected] = useState(NONE);
  const [removeFromDotenv, setRemoveFromDotenv] = useState(false);

  const fail = useCallback(
    (reason: unknown, what: string) => {
      const e = asApiError(reason, trans);
      if (e.isUnauthenticated) {
        setOpen(false);
        onSessionExpired(e);
        return;
      }
      setError(trans.__('%1: %2', what, e.detail));
    },
    [trans, onSessionExpired]
  );

  const load = useCallback(async () => {
    setBusy(true);
    setError(null);
    try {
      const next = await client.envImport();
      setListing(next);
      // Everything importable is picked to begin with.
      setSelected({
        environment: next.environment.filter(importable).map(p => p.provider),
        dotenv: next.dotenv.providers.filter(importable).map(p => p.provider)
      });
    } catch (reason) {
      setListing(null);
      fail(reason, trans.__('Could not read the environment'));
    } finally {
      setBusy(false);
    }
  }, [client, trans, fail]);

  const show = async () => {
    setOpen(true);
    setRemoveFromDotenv(false);
    await load();
  };

  const toggle = (source: EnvImportSource, provider: string) =>
    setSelected(current => {
      const list = current[source];
      return {
        ...current,
        [source]: list.includes(provider)
          ? list.filter(p => p !== provider)
          : [...list, provider]
      };
    });

  const importSelected = async (source: EnvImportSource) => {
    const providers = selected[source];
    if (!providers.length) {
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const result = await client.importFrom(
        source,
        providers,
        source === 'dotenv' && removeFromDotenv
      );
      setOpen(false);
      onImported(
        result.migrated.length
          ? trans.__('Imported %1.', result.migrated.join(', '))
          : trans.__(
              'Nothing imported: each provider has a credential already.'
            )
      );
    } catch (reason) {
      fail(reason, trans.__('Could not import'));
    } finally {
      setBusy(false);
    }
  };

  return {
    open,
    listing,
    error,
    busy,
    selected,
    removeFromDotenv,
    show,
    hide: () => setOpen(false),
    toggle,
    setRemoveFromDotenv,
    importSelected
  };
}
