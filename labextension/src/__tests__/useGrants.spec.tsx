/**
 * Grants: allowing the notebook in front, revoking, per-credential errors,
 * and the second look after a rename.
 */
import { nullTranslator } from '@jupyterlab/translation';
import { act, renderHook } from '@testing-library/react';

import { CredentialsClient } from '../api';
import {
  IGrantsOptions,
  INotebookRef,
  RENAME_RECHECK_MS,
  useGrants
} from '../model';
import { FakeServer, json, settle } from './fakeServer';

const trans = nullTranslator.load('open_notebook_ext');
const ANALYSIS: INotebookRef = {
  path: 'work/analysis.ipynb',
  name: 'analysis.ipynb'
};

function setup(notebook: INotebookRef | null = ANALYSIS) {
  const server = new FakeServer();
  const client = new CredentialsClient(server.settings);
  const options = {
    onNotice: jest.fn(),
    onSessionExpired: jest.fn(),
    onChanged: jest.fn()
  } satisfies IGrantsOptions;
  const hook = renderHook(
    (nb: INotebookRef | null) => useGrants(client, trans, nb, options),
    { initialProps: notebook }
  );
  return { server, options, ...hook };
}

describe('useGrants', () => {
  it('loads all grants, or null when they cannot be loaded', async () => {
    const { server, result } = setup();
    const c = server.add();
    server.grants.push({
      id: 'grant:x',
      credential_id: c.id,
      credential_name: c.name,
      provider: 'openai',
      notebook_path: 'a.ipynb',
      created: '2024-05-01T11:00:00Z'
    });
    expect(result.current.grants).toBeNull();
    expect(result.current.forCredential(c.id)).toBeNull();
    await act(() => result.current.loadAll());
    expect(result.current.forCredential(c.id)?.map(g => g.id)).toEqual([
      'grant:x'
    ]);
    expect(result.current.forCredential('other')).toEqual([]);
    server.on('GET', /^grants$/, json({ detail: 'Database unavailable' }, 503));
    await act(() => result.current.loadAll());
    expect(result.current.grants).toBeNull();
  });

  it('allows the notebook in front, then re-reads only that credential', async () => {
    const { server, result, options } = setup();
    const c = server.add({ name: 'Work' });
    const other = server.add({ name: 'Other' });
    await act(() => result.current.loadAll());
    await act(() => result.current.allowCurrent(other, true));
    server.requests.length = 0;
    await act(() => result.current.allowCurrent(c, true));
    expect(server.calls()).toEqual(['PUT grants', 'GET grants']);
    expect(server.requests[1].query.get('credential_id')).toBe(c.id);
    expect(options.onNotice).toHaveBeenLastCalledWith(
      'analysis.ipynb can now read “Work”.'
    );
    expect(options.onChanged).toHaveBeenCalledTimes(2);
    expect(result.current.grants?.map(g => g.credential_id).sort()).toEqual(
      [c.id, other.id].sort()
    );
    expect(result.current.busy).toEqual({});
    expect(result.current.errors).toEqual({});
  });

  it('turns the switch off by revoking the notebook’s grant', async () => {
    const { server, result, options } = setup();
    const c = server.add({ name: 'Work' });
    await act(() => result.current.allowCurrent(c, true));
    const [grant] = server.grants;
    await act(() => result.current.allowCurrent(c, false));
    expect(server.calls()).toContain(
      `DELETE grants/${encodeURIComponent(grant.id)}`
    );
    expect(options.onNotice).toHaveBeenLastCalledWith(
      'analysis.ipynb can no longer read “Work”.'
    );
    expect(result.current.forCredential(c.id)).toEqual([]);
  });

  it('revokes a listed grant, naming its path', async () => {
    const { server, result, options } = setup();
    const c = server.add({ name: 'Work' });
    await act(() =>
      result.current.allow(c, { path: 'old/x.ipynb', name: 'x.ipynb' })
    );
    const [grant] = server.grants;
    await act(() => result.current.revoke(c, grant));
    expect(options.onNotice).toHaveBeenLastCalledWith(
      'old/x.ipynb can no longer read “Work”.'
    );
    expect(server.grants).toEqual([]);
  });

  it('does nothing without a notebook in front', async () => {
    const { server, result } = setup(null);
    const c = server.add();
    await act(() => result.current.allowCurrent(c, true));
    await act(() => result.current.allowCurrent(c, false));
    expect(server.calls()).toEqual([]);
  });

  it('keeps a failed change’s message with its credential', async () => {
    const { server, result, options } = setup();
    const c = server.add();
    const other = server.add();
    server.on(
      'PUT',
      /^grants$/,
      json(
        {
          detail: 'notebook_path: the file does not exist',
          errors: [{ field: 'notebook_path', message: 'does not exist' }]
        },
        422
      ),
      1
    );
    await act(() => result.current.allowCurrent(c, true));
    expect(result.current.errors).toEqual({
      [c.id]:
        'Could not allow analysis.ipynb: notebook_path: the file does not exist'
    });
    expect(options.onNotice).not.toHaveBeenCalled();
    expect(options.onChanged).toHaveBeenCalledTimes(1);
    // Another credential's change leaves it; the next change of this one clears it.
    await act(() => result.current.allowCurrent(other, true));
    expect(Object.keys(result.current.errors)).toEqual([c.id]);
    await act(() => result.current.allowCurrent(c, true));
    expect(result.current.errors).toEqual({});
  });

  it('hands a 401 over and stops', async () => {
    const { server, result, options } = setup();
    const c = server.add();
    server.on('PUT', /^grants$/, json({ detail: 'no' }, 401));
    await act(() => result.current.allowCurrent(c, true));
    expect(options.onSessionExpired).toHaveBeenCalledTimes(1);
    expect(options.onSessionExpired.mock.calls[0][0].isUnauthenticated).toBe(
      true
    );
    expect(server.calls()).toEqual(['PUT grants']);
    expect(options.onChanged).not.toHaveBeenCalled();
    expect(result.current.busy).toEqual({});
  });

  it('reads the grants now and again a moment after a rename', async () => {
    jest.useFakeTimers();
    try {
      const { server, rerender } = setup();
      rerender({ ...ANALYSIS });
      expect(server.calls()).toEqual([]);
      rerender({
        path: 'work/renamed.ipynb',
        name: 'renamed.ipynb',
        renamedFrom: ANALYSIS.path
      });
      expect(server.calls()).toEqual(['GET grants']);
      await act(async () => {
        jest.advanceTimersByTime(RENAME_RECHECK_MS - 1);
      });
      expect(server.calls()).toEqual(['GET grants']);
      await act(async () => {
        jest.advanceTimersByTime(1);
      });
      expect(server.calls()).toEqual(['GET grants', 'GET grants']);
      jest.useRealTimers();
      await settle(server);
    } finally {
      jest.useRealTimers();
    }
  });

  it('drops the second look when the notebook changes again first', async () => {
    jest.useFakeTimers();
    try {
      const { server, rerender } = setup();
      rerender({ path: 'b.ipynb', name: 'b.ipynb', renamedFrom: 'a.ipynb' });
      rerender(null);
      await act(async () => {
        jest.advanceTimersByTime(RENAME_RECHECK_MS);
      });
      expect(server.calls()).toEqual(['GET grants']);
      jest.useRealTimers();
      await settle(server);
    } finally {
      jest.useRealTimers();
    }
  });
});
