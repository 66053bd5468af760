/**
 * The recent audit events (`GET audit`), newest first. They load when the
 * hook is first used, whenever `refreshToken` changes (the panel was shown,
 * something was changed) and on `load`.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { useCallback, useEffect, useState } from 'react';

import {
  asApiError,
  AUDIT_LIMIT,
  CredentialsClient,
  IAuditEvent
} from '../api';

export interface IActivityModel {
  /** null until the first load succeeds. */
  events: IAuditEvent[] | null;
  /** The last load's failure, as text. */
  error: string | null;
  loading: boolean;
  load: () => Promise<void>;
}

export function useActivity(
  client: CredentialsClient,
  trans: TranslationBundle,
  refreshToken: number,
  limit = AUDIT_LIMIT
): IActivityModel {
  const [events, setEvents] = useState<IAuditEvent[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);

  const load = useCallback(async () => {
    setLoading(true);
    try {
      setEvents(await client.audit(limit));
      setError(null);
    } catch (reason) {
      setError(
        trans.__(
          'Could not load activity: %1',
          asApiError(reason, trans).detail
        )
      );
    } finally {
      setLoading(false);
    }
  }, [client, trans, limit]);

  useEffect(() => {
    void load();
  }, [load, refreshToken]);

  return { events, error, loading, load };
}
