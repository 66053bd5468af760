/**
 * Provider proxy usage per credential, today and over 30 days (`GET usage`),
 * for the credential list. A server without the usage route, or any error,
 * leaves it empty: the list is shown without it.
 */
import { useCallback, useEffect, useState } from 'react';

import { CredentialsClient, IUsageRow } from '../api';

export interface IUsageCounts {
  requests: number;
  tokens: number;
}

export interface ICredentialUsage {
  today: IUsageCounts;
  days30: IUsageCounts;
  /** Notebook path to its use of this credential over 30 days (proxied calls). */
  notebooks?: Record<string, IUsageCounts>;
}

/** The UTC date `days` days before `now`, as YYYY-MM-DD (the server's days are UTC). */
export function utcDate(now: Date, days = 0): string {
  const d = new Date(now.getTime() - days * 24 * 60 * 60 * 1000);
  return d.toISOString().slice(0, 10);
}

function counts(row: IUsageRow | undefined): IUsageCounts {
  return {
    requests: row?.requests ?? 0,
    tokens: (row?.input_tokens ?? 0) + (row?.output_tokens ?? 0)
  };
}

/** Notebook path to its counts, from `GET usage?group_by=notebook` rows. */
export function usageByNotebook(
  rows: IUsageRow[]
): Record<string, IUsageCounts> {
  const out: Record<string, IUsageCounts> = {};
  for (const row of rows) {
    if (row.notebook) {
      out[row.notebook] = counts(row);
    }
  }
  return out;
}

/** Credential id to its usage, from the two answers of `GET usage`. */
export function usageByCredential(
  today: IUsageRow[],
  days30: IUsageRow[]
): Record<string, ICredentialUsage> {
  const out: Record<string, ICredentialUsage> = {};
  for (const row of days30) {
    if (!row.credential) {
      continue;
    }
    const now = today.find(r => r.credential === row.credential);
    out[row.credential] = { today: counts(now), days30: counts(row) };
  }
  return out;
}

export function useUsage(
  client: CredentialsClient,
  refreshToken: unknown,
  now: () => Date = () => new Date()
): Record<string, ICredentialUsage> {
  const [usage, setUsage] = useState<Record<string, ICredentialUsage>>({});
  const load = useCallback(async () => {
    const date = now();
    try {
      const [today, days30] = await Promise.all([
        client.usage(utcDate(date)),
        client.usage(utcDate(date, 29))
      ]);
      const byCredential = usageByCredential(today.rows, days30.rows);
      // per notebook, for "Notebooks with access": only credentials that were used
      await Promise.all(
        Object.keys(byCredential).map(async id => {
          try {
            const rows = await client.usage(utcDate(date, 29), 'notebook', id);
            byCredential[id].notebooks = usageByNotebook(rows.rows);
          } catch {
            // the per-credential figures stand on their own
          }
        })
      );
      setUsage(byCredential);
    } catch {
      setUsage({});
    }
  }, [client]);
  useEffect(() => {
    void load();
  }, [load, refreshToken]);
  return usage;
}
