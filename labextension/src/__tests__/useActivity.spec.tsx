import { nullTranslator } from '@jupyterlab/translation';
import { act, renderHook } from '@testing-library/react';

import { AUDIT_LIMIT, CredentialsClient } from '../api';
import { useActivity, useConnectionTests } from '../model';
import { FakeServer, json, settle } from './fakeServer';

const trans = nullTranslator.load('open_notebook_ext');

describe('useActivity', () => {
  function setup() {
    const server = new FakeServer();
    const client = new CredentialsClient(server.settings);
    const hook = renderHook(
      (token: number) => useActivity(client, trans, token),
      { initialProps: 0 }
    );
    return { server, ...hook };
  }

  it('loads the newest events when mounted, with the limit', async () => {
    const { server, result } = setup();
    expect(result.current.events).toBeNull();
    expect(result.current.loading).toBe(true);
    await settle(server);
    expect(result.current.events).toEqual([]);
    expect(result.current.loading).toBe(false);
    expect(server.requests[0].query.get('limit')).toBe(String(AUDIT_LIMIT));
  });

  it('loads again when the token changes, keeping a failure as text', async () => {
    const { server, result, rerender } = setup();
    await settle(server);
    server.add({ name: 'Work' });
    server.audit.push({ kind: 'credential', action: 'created', time: null });
    rerender(1);
    await settle(server);
    expect(result.current.events).toHaveLength(1);
    server.on('GET', /^audit$/, json({ detail: 'Database unavailable' }, 503));
    await act(() => result.current.load());
    expect(result.current.error).toBe(
      'Could not load activity: Database unavailable'
    );
    // The last list stays.
    expect(result.current.events).toHaveLength(1);
    expect(server.calls()).toEqual(['GET audit', 'GET audit', 'GET audit']);
  });
});

describe('useConnectionTests', () => {
  function setup() {
    const server = new FakeServer();
    const client = new CredentialsClient(server.settings);
    const options = { onSessionExpired: jest.fn(), onDone: jest.fn() };
    const hook = renderHook(() => useConnectionTests(client, trans, options));
    return { server, options, ...hook };
  }

  it('shows the test running, then its outcome', async () => {
    const { server, result, options } = setup();
    const c = server.add();
    server.hold();
    let running: Promise<void> = Promise.resolve();
    act(() => {
      running = result.current.run(c);
    });
    expect(result.current.tests[c.id]).toEqual({ state: 'running' });
    server.release();
    await act(() => running);
    expect(result.current.tests[c.id]).toEqual({
      state: 'done',
      result: { provider: 'openai', success: true, message: 'ok' }
    });
    expect(options.onDone).toHaveBeenCalledTimes(1);
    act(() => result.current.forget(c.id));
    expect(result.current.tests).toEqual({});
  });

  it('keeps an error answer as a failed test', async () => {
    const { server, result } = setup();
    const c = server.add();
    server.on('POST', /\/test$/, json({ detail: 'Credential not found' }, 404));
    await act(() => result.current.run(c));
    expect(result.current.tests[c.id]).toEqual({
      state: 'failed',
      message: 'Credential not found'
    });
  });

  it('hands a 401 over and leaves the test as it was', async () => {
    const { server, result, options } = setup();
    const c = server.add();
    server.on('POST', /\/test$/, json({ detail: 'no' }, 401));
    await act(() => result.current.run(c));
    expect(options.onSessionExpired).toHaveBeenCalledTimes(1);
    expect(options.onDone).not.toHaveBeenCalled();
    // The panel shows "sign in again" instead of the list.
    expect(result.current.tests[c.id]).toEqual({ state: 'running' });
  });
});
