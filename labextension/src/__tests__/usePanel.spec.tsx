/**
 * The panel's model against the fake server: what it loads and in which
 * order, deletes, saves, and what a 401 anywhere does.
 */
import { nullTranslator } from '@jupyterlab/translation';
import { act, renderHook } from '@testing-library/react';

import { CredentialsClient } from '../api';
import { CurrentNotebook, IPanelOptions, usePanel } from '../model';
import { FakeServer, json, settle } from './fakeServer';
import { FakeShell } from './shell';

const trans = nullTranslator.load('open_notebook_ext');

const LOAD = [
  'GET grants',
  'GET providers',
  'GET credentials/status',
  'GET credentials'
];

function setup(server = new FakeServer()) {
  const client = new CredentialsClient(server.settings);
  const notebooks = new CurrentNotebook(new FakeShell().asShell());
  const initialProps: IPanelOptions = {
    client,
    trans,
    notebooks,
    refreshToken: 0
  };
  const hook = renderHook((props: IPanelOptions) => usePanel(props), {
    initialProps
  });
  return { server, client, initialProps, ...hook };
}

async function loaded(
  result: { current: ReturnType<typeof usePanel> },
  server: FakeServer
) {
  await settle(server);
  expect(result.current.list.loading).toBe(false);
}

describe('usePanel', () => {
  it('loads grants, providers, status and credentials, in that order (not the spec)', async () => {
    const server = new FakeServer();
    const work = server.add({ name: 'Work' });
    const { result } = setup(server);
    expect(result.current.list.data).toBeNull();
    expect(result.current.list.loading).toBe(true);
    expect(result.current.addDisabled).toBe(true);
    await loaded(result, server);
    expect(server.calls()).toEqual(LOAD);
    const data = result.current.list.data!;
    expect(data.credentials).toEqual([work]);
    expect(result.current.list.canTest('openai')).toBe(true);
    expect(result.current.list.canTest('vertex')).toBe(false);
    expect(result.current.list.canTest('gone')).toBe(false);
    expect(result.current.grants.grants).toEqual([]);
    expect(result.current.list.providerLabel('openai')).toBe('OpenAI');
    expect(result.current.list.providerLabel('gone')).toBe('gone');
    expect(result.current.addDisabled).toBe(false);
    expect(result.current.activityToken).toBe(1);
  });

  it('loads everything again when shown again', async () => {
    const { result, rerender, server, initialProps } = setup();
    await loaded(result, server);
    rerender({ ...initialProps, refreshToken: 1 });
    await loaded(result, server);
    expect(server.calls()).toEqual([...LOAD, ...LOAD]);
    expect(result.current.activityToken).toBe(2);
  });

  it('blocks adding without an encryption key, and flags a key mismatch', async () => {
    const server = new FakeServer();
    server.status = {
      ...server.status,
      encryption_configured: false,
      key_source: 'none',
      key_check: 'not_configured'
    };
    const { result } = setup(server);
    await loaded(result, server);
    expect(result.current.canWriteKeys).toBe(false);
    expect(result.current.addDisabled).toBe(true);

    const mismatch = new FakeServer();
    mismatch.status = { ...mismatch.status, key_check: 'mismatch' };
    const second = setup(mismatch);
    await loaded(second.result, second.server);
    expect(second.result.current.keyMismatch).toBe(true);
    expect(second.result.current.canWriteKeys).toBe(true);
  });

  it('shows a failed first load, and recovers on retry', async () => {
    const server = new FakeServer();
    server.on(
      'GET',
      /^credentials$/,
      () => Promise.reject(new TypeError('Failed to fetch')),
      1
    );
    const { result } = setup(server);
    await loaded(result, server);
    expect(result.current.list.data).toBeNull();
    expect(result.current.list.loadError?.isNetwork).toBe(true);
    expect(result.current.addDisabled).toBe(true);
    await act(() => result.current.reload());
    expect(result.current.list.loadError).toBeNull();
    expect(result.current.list.data?.credentials).toEqual([]);
  });

  it('opens and closes the editor, clearing the last notice', async () => {
    const server = new FakeServer();
    const work = server.add();
    const { result } = setup(server);
    await loaded(result, server);
    act(() => result.current.openAdd());
    expect(result.current.editor).toEqual({ mode: 'add' });
    expect(result.current.addDisabled).toBe(true);
    act(() => result.current.saved(work, true));
    expect(result.current.notice).toBe(`Added credential “${work.name}”.`);
    expect(result.current.editor).toBeNull();
    await settle(server);
    act(() => result.current.openEdit(work));
    expect(result.current.editor).toEqual({ mode: 'edit', credential: work });
    expect(result.current.notice).toBe('');
    act(() => result.current.closeEditor());
    expect(result.current.editor).toBeNull();
  });

  it('forgets a credential’s test result when it is saved, and reloads', async () => {
    const server = new FakeServer();
    const work = server.add();
    const { result } = setup(server);
    await loaded(result, server);
    await act(() => result.current.tests.run(work));
    expect(result.current.tests.tests[work.id]?.state).toBe('done');
    server.requests.length = 0;
    act(() => result.current.saved(work, false));
    expect(result.current.notice).toBe(`Saved credential “${work.name}”.`);
    expect(result.current.tests.tests[work.id]).toBeUndefined();
    await settle(server);
    expect(server.calls()).toEqual(LOAD);
  });

  it('deletes, says so, closes that credential’s editor and reloads', async () => {
    const server = new FakeServer();
    const work = server.add({ name: 'Work' });
    const { result } = setup(server);
    await loaded(result, server);
    act(() => result.current.openEdit(work));
    await act(() => result.current.remove(work));
    expect(result.current.notice).toBe('Deleted credential “Work”.');
    expect(result.current.editor).toBeNull();
    expect(result.current.busyId).toBeNull();
    expect(result.current.list.data?.credentials).toEqual([]);
  });

  it('shows a failed delete and keeps the list', async () => {
    const server = new FakeServer();
    const work = server.add({ name: 'Work' });
    server.on(
      'DELETE',
      /^credentials\//,
      json({ detail: 'Database unavailable' }, 503)
    );
    const { result } = setup(server);
    await loaded(result, server);
    await act(() => result.current.remove(work));
    expect(result.current.actionError).toBe(
      'Could not delete “Work”: Database unavailable'
    );
    expect(result.current.list.data?.credentials).toEqual([work]);
    act(() => result.current.openAdd());
    expect(result.current.actionError).toBeNull();
  });

  it('asks to sign in again after a 401, and stops there', async () => {
    const server = new FakeServer();
    const work = server.add();
    const { result } = setup(server);
    await loaded(result, server);
    act(() => result.current.openEdit(work));
    server.on('DELETE', /^credentials\//, json({ detail: 'no' }, 401));
    server.requests.length = 0;
    await act(() => result.current.remove(work));
    expect(result.current.list.loadError?.isUnauthenticated).toBe(true);
    expect(result.current.editor).toBeNull();
    expect(result.current.addDisabled).toBe(true);
    // No reload after the session is gone.
    expect(server.calls()).toEqual([
      `DELETE credentials/${encodeURIComponent(work.id)}`
    ]);
  });

  it('ends the session on a 401 from a connection test or a grant change too', async () => {
    const server = new FakeServer();
    const work = server.add();
    const { result } = setup(server);
    await loaded(result, server);
    server.on('POST', /\/test$/, json({ detail: 'no' }, 401), 1);
    await act(() => result.current.tests.run(work));
    expect(result.current.list.loadError?.isUnauthenticated).toBe(true);

    const again = setup();
    const c = again.server.add();
    await loaded(again.result, again.server);
    again.server.on('PUT', /^grants$/, json({ detail: 'no' }, 401));
    await act(() =>
      again.result.current.grants.allow(c, { path: 'a.ipynb', name: 'a.ipynb' })
    );
    expect(again.result.current.list.loadError?.isUnauthenticated).toBe(true);
  });
});
