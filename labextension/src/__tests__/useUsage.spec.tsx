/**
 * Provider proxy usage per credential (today and 30 days) against the fake
 * server, and what a server without the usage route leaves (nothing).
 */
import { act, renderHook } from '@testing-library/react';

import { CredentialsClient, IUsageRow } from '../api';
import { usageByCredential, useUsage, utcDate } from '../model';
import { FakeServer, json, settle } from './fakeServer';

function row(
  credential: string,
  requests: number,
  tokensIn: number
): IUsageRow {
  return {
    credential,
    credential_name: 'Work',
    provider: 'openai',
    requests,
    errors: 0,
    input_tokens: tokensIn,
    output_tokens: 5,
    mean_latency_ms: 12.5
  };
}

describe('useUsage', () => {
  const now = () => new Date('2026-12-01T23:30:00Z');

  it('asks for today and the last 30 UTC days, and sums tokens', async () => {
    const server = new FakeServer();
    server.usage = (since, query) =>
      query.get('group_by') === 'notebook'
        ? query.get('credential_id') === 'credential:a'
          ? [{ ...row('', 4, 50), credential: undefined, notebook: 'a.ipynb' }]
          : []
        : since === '2026-12-01'
          ? [row('credential:a', 2, 10)]
          : [row('credential:a', 7, 100), row('credential:b', 1, 1)];
    const client = new CredentialsClient(server.settings);
    const { result } = renderHook(() => useUsage(client, 0, now));
    await settle(server);
    expect(server.requests.map(r => r.query.get('since'))).toEqual([
      '2026-12-01',
      '2026-11-02',
      '2026-11-02',
      '2026-11-02'
    ]);
    expect(server.requests.map(r => r.query.get('group_by'))).toEqual([
      'credential',
      'credential',
      'notebook',
      'notebook'
    ]);
    expect(
      server.requests.slice(2).map(r => r.query.get('credential_id'))
    ).toEqual(['credential:a', 'credential:b']);
    expect(result.current).toEqual({
      'credential:a': {
        today: { requests: 2, tokens: 15 },
        days30: { requests: 7, tokens: 105 },
        notebooks: { 'a.ipynb': { requests: 4, tokens: 55 } }
      },
      'credential:b': {
        today: { requests: 0, tokens: 0 },
        days30: { requests: 1, tokens: 6 },
        notebooks: {}
      }
    });
  });

  it('is empty when the server has no usage route', async () => {
    const server = new FakeServer();
    server.on('GET', /^usage$/, () => json({ detail: 'Not Found' }, 404));
    const client = new CredentialsClient(server.settings);
    const { result } = renderHook(() => useUsage(client, 0, now));
    await act(async () => settle(server));
    expect(result.current).toEqual({});
  });

  it('keeps rows without a credential id out, and dates in UTC', () => {
    expect(
      usageByCredential([], [{ ...row('', 1, 1), credential: undefined }])
    ).toEqual({});
    expect(utcDate(new Date('2026-03-01T00:30:00+02:00'))).toBe('2026-02-28');
  });
});
