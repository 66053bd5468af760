/**
 * Grant prompts: when notebook code reads a key its notebook was not granted,
 * the server holds the call and tells this page over a WebSocket
 * (`open-notebook/api/grant-prompts/socket`); the page asks "Allow / Deny" and
 * answers with an ordinary authenticated POST (ServerConnection adds the XSRF
 * header). While no page listens, the server denies such reads at once.
 *
 * This class keeps the socket open (reconnecting with a growing delay) and the
 * list of pending prompts; showing them is `GrantPromptDialogs`' job.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

import { API_PATH } from '../api/client';
import { ApiError, errorFrom, NETWORK_DETAIL } from '../api/errors';
import { IGrant } from '../api/types';

export interface IGrantPrompt {
  id: string;
  credential_id: string;
  credential_name: string;
  provider: string;
  /** The session's path: a notebook, or a console (`console-1-<uuid>`). */
  notebook_path: string;
  session_type: string;
  expires_in: number;
}

export type GrantDecision = 'allow' | 'deny';

export interface IPromptAnswer {
  id: string;
  decision: GrantDecision;
  grant: IGrant | null;
}

/** A save of `path` replaced `count` stored keys in its outputs (no key, no name). */
export interface IRedaction {
  path: string;
  count: number;
}

type Message =
  | { type: 'snapshot'; prompts: IGrantPrompt[] }
  | { type: 'prompt'; prompt: IGrantPrompt }
  | { type: 'closed'; id: string; outcome: string }
  | ({ type: 'redacted' } & IRedaction);

/** Reconnection delays (ms): 1 s, doubling, at most 30 s. */
export const RECONNECT_MIN_MS = 1000;
export const RECONNECT_MAX_MS = 30000;

export class GrantPromptWatcher {
  constructor(readonly serverSettings: ServerConnection.ISettings) {}

  /** The prompts pending now, oldest first. */
  get pending(): IGrantPrompt[] {
    return [...this._pending.values()];
  }

  /** A prompt arrived. */
  get added(): ISignal<this, IGrantPrompt> {
    return this._added;
  }

  /** A prompt ended (answered here or elsewhere, expired, the code stopped). */
  get closed(): ISignal<this, { id: string; outcome: string }> {
    return this._closed;
  }

  /** A grant was made from a prompt (the panel reloads its grants). */
  get granted(): ISignal<this, IGrant> {
    return this._granted;
  }

  /** A save redacted stored keys from a notebook's outputs. */
  get redacted(): ISignal<this, IRedaction> {
    return this._redacted;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    window.clearTimeout(this.retry);
    this.socket?.close();
    this.socket = null;
  }

  /** Answer a prompt (POST grant-prompts/{id}). */
  async answer(
    prompt: IGrantPrompt,
    decision: GrantDecision
  ): Promise<IPromptAnswer> {
    const url = URLExt.join(
      this.serverSettings.baseUrl,
      API_PATH,
      'grant-prompts',
      encodeURIComponent(prompt.id)
    );
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(
        url,
        {
          method: 'POST',
          body: JSON.stringify({ decision }),
          headers: { 'Content-Type': 'application/json' }
        },
        this.serverSettings
      );
    } catch {
      throw new ApiError(0, NETWORK_DETAIL);
    }
    if (!response.ok) {
      throw await errorFrom(response);
    }
    const answer = (await response.json()) as IPromptAnswer;
    if (answer.grant) {
      this._granted.emit(answer.grant);
    }
    return answer;
  }

  /** Handle one server message (public for tests). */
  receive(raw: string): void {
    let message: Message;
    try {
      message = JSON.parse(raw) as Message;
    } catch {
      return;
    }
    if (message.type === 'snapshot') {
      const fresh = new Set(message.prompts.map(p => p.id));
      for (const id of [...this._pending.keys()]) {
        if (!fresh.has(id)) {
          this.close(id, 'gone');
        }
      }
      for (const prompt of message.prompts) {
        this.add(prompt);
      }
    } else if (message.type === 'prompt') {
      this.add(message.prompt);
    } else if (message.type === 'closed') {
      this.close(message.id, message.outcome);
    } else if (
      message.type === 'redacted' &&
      typeof message.path === 'string' &&
      typeof message.count === 'number'
    ) {
      this._redacted.emit({ path: message.path, count: message.count });
    }
  }

  private add(prompt: IGrantPrompt): void {
    if (this._pending.has(prompt.id)) {
      return;
    }
    this._pending.set(prompt.id, prompt);
    this._added.emit(prompt);
  }

  private close(id: string, outcome: string): void {
    if (this._pending.delete(id)) {
      this._closed.emit({ id, outcome });
    }
  }

  private connect(): void {
    if (this.stopped) {
      return;
    }
    const { appendToken, token, WebSocket, wsUrl } = this.serverSettings;
    let url = URLExt.join(wsUrl, API_PATH, 'grant-prompts', 'socket');
    if (appendToken && token !== '') {
      url += `?token=${encodeURIComponent(token)}`;
    }
    const socket = new WebSocket(url);
    this.socket = socket;
    socket.onopen = () => {
      this.delay = RECONNECT_MIN_MS;
    };
    socket.onmessage = (event: MessageEvent) => {
      if (typeof event.data === 'string') {
        this.receive(event.data);
      }
    };
    socket.onclose = () => {
      if (this.socket !== socket) {
        return;
      }
      this.socket = null;
      if (!this.stopped) {
        this.retry = window.setTimeout(() => this.connect(), this.delay);
        this.delay = Math.min(this.delay * 2, RECONNECT_MAX_MS);
      }
    };
  }

  private socket: WebSocket | null = null;
  private stopped = true;
  private retry = 0;
  private delay = RECONNECT_MIN_MS;
  private readonly _pending = new Map<string, IGrantPrompt>();
  private readonly _added = new Signal<this, IGrantPrompt>(this);
  private readonly _closed = new Signal<this, { id: string; outcome: string }>(
    this
  );
  private readonly _granted = new Signal<this, IGrant>(this);
  private readonly _redacted = new Signal<this, IRedaction>(this);
}
