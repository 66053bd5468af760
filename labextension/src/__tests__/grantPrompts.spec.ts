/**
 * The grant prompt watcher: the socket URL it opens, the pending list it keeps
 * from the server's messages, reconnection, and the answer it POSTs.
 */
import { ServerConnection } from '@jupyterlab/services';
import { nullTranslator } from '@jupyterlab/translation';

import {
  GrantPromptWatcher,
  IGrantPrompt,
  promptText,
  RECONNECT_MIN_MS
} from '../prompts';

const trans = nullTranslator.load('open_notebook_ext');

class FakeSocket {
  static last: FakeSocket | null = null;
  constructor(readonly url: string) {
    FakeSocket.last = this;
  }
  onopen: (() => void) | null = null;
  onmessage: ((e: { data: string }) => void) | null = null;
  onclose: (() => void) | null = null;
  close(): void {
    this.onclose?.();
  }
  send(): void {
    throw new Error('the page never sends on this socket');
  }
}

const PROMPT: IGrantPrompt = {
  id: 'prompt_1',
  credential_id: 'cred_1',
  credential_name: 'Work',
  provider: 'openai',
  notebook_path: 'proj/analysis.ipynb',
  session_type: 'notebook',
  expires_in: 60
};

function watcher(fetch?: typeof window.fetch): GrantPromptWatcher {
  return new GrantPromptWatcher(
    ServerConnection.makeSettings({
      baseUrl: 'http://localhost/jupyter/',
      wsUrl: 'ws://localhost/jupyter/',
      token: 'tok',
      appendToken: true,
      WebSocket: FakeSocket as unknown as typeof WebSocket,
      fetch: fetch ?? (() => Promise.reject(new Error('no fetch')))
    })
  );
}

describe('GrantPromptWatcher', () => {
  afterEach(() => jest.useRealTimers());

  it('opens the socket with the token and keeps the pending prompts', () => {
    const w = watcher();
    const added: string[] = [];
    const closed: string[] = [];
    w.added.connect((_, p) => added.push(p.id));
    w.closed.connect((_, c) => closed.push(`${c.id}:${c.outcome}`));
    w.start();
    const socket = FakeSocket.last!;
    expect(socket.url).toBe(
      'ws://localhost/jupyter/open-notebook/api/grant-prompts/socket?token=tok'
    );
    socket.onmessage!({
      data: JSON.stringify({ type: 'snapshot', prompts: [PROMPT] })
    });
    socket.onmessage!({
      data: JSON.stringify({ type: 'prompt', prompt: PROMPT })
    });
    expect(added).toEqual(['prompt_1']); // the same prompt twice: one dialog
    socket.onmessage!({ data: 'not json' });
    socket.onmessage!({
      data: JSON.stringify({
        type: 'closed',
        id: 'prompt_1',
        outcome: 'expired'
      })
    });
    expect(closed).toEqual(['prompt_1:expired']);
    expect(w.pending).toEqual([]);
    w.stop();
  });

  it('a snapshot after a reconnect drops prompts that ended meanwhile', () => {
    jest.useFakeTimers();
    const w = watcher();
    w.start();
    const first = FakeSocket.last!;
    first.onmessage!({
      data: JSON.stringify({ type: 'prompt', prompt: PROMPT })
    });
    first.close();
    jest.advanceTimersByTime(RECONNECT_MIN_MS);
    const second = FakeSocket.last!;
    expect(second).not.toBe(first);
    second.onmessage!({
      data: JSON.stringify({ type: 'snapshot', prompts: [] })
    });
    expect(w.pending).toEqual([]);
    w.stop();
  });

  it('answers with a POST and announces the grant', async () => {
    const requests: Request[] = [];
    const grant = {
      id: 'grant_1',
      credential_id: 'cred_1',
      notebook_path: PROMPT.notebook_path
    };
    const w = watcher(async (input, init) => {
      requests.push(new Request(input as RequestInfo, init));
      return new Response(
        JSON.stringify({ id: PROMPT.id, decision: 'allow', grant }),
        {
          status: 200,
          headers: { 'Content-Type': 'application/json' }
        }
      );
    });
    const granted: string[] = [];
    w.granted.connect((_, g) => granted.push(g.id));
    await w.answer(PROMPT, 'allow');
    expect(requests[0].method).toBe('POST');
    expect(requests[0].url.split('?')[0]).toBe(
      'http://localhost/jupyter/open-notebook/api/grant-prompts/prompt_1'
    );
    expect(await requests[0].json()).toEqual({ decision: 'allow' });
    expect(granted).toEqual(['grant_1']);
  });
});

describe('promptText', () => {
  it('names the notebook, the credential and the provider', () => {
    const text = promptText(PROMPT, 'OpenAI', trans);
    expect(text.question).toBe('analysis.ipynb wants to read “Work” (OpenAI).');
    expect(text.detail).toContain('proj/analysis.ipynb');
  });

  it('says a console grant ends with the console', () => {
    const text = promptText(
      { ...PROMPT, notebook_path: 'console-1-abc', session_type: 'console' },
      'OpenAI',
      trans
    );
    expect(text.question).toBe('A console wants to read “Work” (OpenAI).');
    expect(text.detail).toContain('until the console is closed');
  });
});
