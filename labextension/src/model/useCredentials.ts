/**
 * The list and what it needs: providers (with their labels and whether the
 * server can test their credentials), encryption status and credentials,
 * loaded together.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { useCallback, useState } from 'react';

import {
  ApiError,
  asApiError,
  CredentialsClient,
  ICredential,
  IProvider,
  IStatus
} from '../api';

export interface IPanelData {
  providers: IProvider[];
  status: IStatus;
  credentials: ICredential[];
}

export interface ICredentialsModel {
  /** The last data loaded; null until the first load succeeds. */
  data: IPanelData | null;
  loading: boolean;
  /** Why the last load failed (or the session ended); null after a success. */
  loadError: ApiError | null;
  load: () => Promise<void>;
  /** The session is gone (a 401 anywhere): shown as the load error. */
  expire: (error: ApiError) => void;
  /** A provider's display name ("OpenAI" for "openai"). */
  providerLabel: (name: string) => string;
  /** The server can test this provider's credentials (Test connection). */
  canTest: (provider: string) => boolean;
}

export function useCredentials(
  client: CredentialsClient,
  trans: TranslationBundle
): ICredentialsModel {
  const [data, setData] = useState<IPanelData | null>(null);
  const [loading, setLoading] = useState(true);
  const [loadError, setLoadError] = useState<ApiError | null>(null);

  const load = useCallback(async () => {
    setLoading(true);
    try {
      const [providers, status, credentials] = await Promise.all([
        client.providers(),
        client.status(),
        client.list()
      ]);
      setData({ providers, status, credentials });
      setLoadError(null);
    } catch (reason) {
      setLoadError(asApiError(reason, trans));
    } finally {
      setLoading(false);
    }
  }, [client, trans]);

  const providerLabel = (name: string) =>
    data?.providers.find(p => p.name === name)?.display_name ?? name;
  const canTest = (provider: string) =>
    data?.providers.find(p => p.name === provider)?.connection_test === true;

  return {
    data,
    loading,
    loadError,
    load,
    expire: setLoadError,
    providerLabel,
    canTest
  };
}
