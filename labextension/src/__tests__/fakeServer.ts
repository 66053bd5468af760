/**
 * An in-memory stand-in for the server extension's API behind a real
 * `ServerConnection.ISettings`: the client under test builds real `Request`s
 * and reads real `Response`s; only the network is replaced by `fetch` below.
 *
 * It keeps credentials, grants and audit events the way the server does
 * (enough for the panel), serves the real `openapi.json` (from
 * openapi.yaml), and records every request. `on()` replaces one route's
 * answer, to produce the errors the tests need.
 */
import { ServerConnection } from '@jupyterlab/services';
import { act } from '@testing-library/react';

import type {
  IAuditEvent,
  ICredential,
  IGrant,
  IProvider,
  IStatus,
  IUsageRow
} from '../api';
import { API_PATH } from '../api';
import { credential as makeCredential, OLLAMA, OPENAI } from './fixtures';
import { loadSpec } from './openapi';

export const BASE_URL = 'http://localhost/jupyter/';
export const TOKEN = 'test-token';

export interface IRecorded {
  method: string;
  /** The path under the API namespace ("credentials/abc"). */
  path: string;
  query: URLSearchParams;
  headers: Headers;
  body: unknown;
}

type Answer = Response | (() => Response | Promise<Response>);

interface IOverride {
  method: string;
  path: RegExp;
  answer: Answer;
  times: number;
}

export function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' }
  });
}

const spec = loadSpec();

export class FakeServer {
  readonly requests: IRecorded[] = [];
  providers: IProvider[] = [OPENAI, OLLAMA];
  credentials: ICredential[] = [];
  grants: IGrant[] = [];
  audit: IAuditEvent[] = [];
  /** `GET usage` rows for a `since` date (none by default). */
  usage: (since: string, query: URLSearchParams) => IUsageRow[] = () => [];
  status: IStatus = {
    encryption_configured: true,
    key_source: 'env',
    key_file: null,
    key_check: 'ok',
    configured: {},
    source: {},
    counts: { total: 0, by_provider: {}, undecryptable: 0 },
    kernel_isolation: 'none',
    non_dumpable: true
  };
  /** Resolve to let held requests answer (see `hold`). */
  private held: (() => void)[] = [];
  private holding = false;
  private overrides: IOverride[] = [];
  private nextGrant = 0;
  private inFlight = 0;

  readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings(
    {
      baseUrl: BASE_URL,
      token: TOKEN,
      fetch: (input: RequestInfo | URL, init?: RequestInit) =>
        this.fetch(new Request(input, init))
    }
  );

  /** Answer `method path` (a regex on the API path) with `answer` `times` times. */
  on(method: string, path: RegExp, answer: Answer, times = Infinity): void {
    this.overrides.unshift({ method, path, answer, times });
  }

  /** Add a credential as if created through the API. */
  add(overrides: Partial<ICredential> = {}): ICredential {
    const c = makeCredential(overrides);
    this.credentials.push(c);
    return c;
  }

  /** Keep answers back until `release()` (to see loading states). */
  hold(): void {
    this.holding = true;
  }

  release(): void {
    this.holding = false;
    for (const go of this.held.splice(0)) {
      go();
    }
  }

  /** Requests not answered yet. */
  get pending(): number {
    return this.inFlight;
  }

  /** The recorded requests as "METHOD path" lines. */
  calls(): string[] {
    return this.requests.map(r => `${r.method} ${r.path}`);
  }

  private async fetch(request: Request): Promise<Response> {
    this.inFlight++;
    try {
      return await this.answer(request);
    } finally {
      this.inFlight--;
    }
  }

  private async answer(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const prefix = new URL(API_PATH, BASE_URL).pathname;
    if (!url.pathname.startsWith(prefix)) {
      return json({ detail: 'Not Found' }, 404);
    }
    const recorded: IRecorded = {
      method: request.method,
      path: url.pathname.slice(prefix.length),
      query: url.searchParams,
      headers: request.headers,
      body: undefined
    };
    // Recorded in the order the client sent them, before anything is awaited.
    this.requests.push(recorded);
    const text = await request.text();
    recorded.body = text ? JSON.parse(text) : undefined;
    if (this.holding) {
      await new Promise<void>(go => this.held.push(go));
    }
    const override = this.overrides.find(
      o =>
        o.method === request.method && o.path.test(recorded.path) && o.times > 0
    );
    if (override) {
      override.times--;
      const { answer } = override;
      return typeof answer === 'function' ? answer() : answer.clone();
    }
    return this.route(recorded);
  }

  private route(r: IRecorded): Response {
    const body = (r.body ?? {}) as Record<string, unknown>;
    const fixed = ['openapi.json', 'providers', 'credentials/status'];
    const credentialId = fixed.includes(r.path)
      ? null
      : /^credentials\/([^/]+)(\/test)?$/.exec(r.path);
    const grantId = /^grants\/([^/]+)$/.exec(r.path);
    let route = r.path;
    if (credentialId) {
      route = credentialId[2] ? 'credentials/{id}/test' : 'credentials/{id}';
    } else if (grantId) {
      route = 'grants/{id}';
    }
    const key = `${r.method} ${route}`;
    switch (key) {
      case 'GET openapi.json':
        return json(spec);
      case 'GET providers':
        return json(this.providers);
      case 'GET credentials/status':
        return json(this.status);
      case 'GET credentials':
        return json(this.credentials);
      case 'POST credentials': {
        const { api_key, ...fields } = body;
        const c = makeCredential({
          ...(fields as Partial<ICredential>),
          has_api_key: typeof api_key === 'string',
          api_key_hint:
            typeof api_key === 'string' ? `••••${api_key.slice(-4)}` : null
        });
        this.credentials.push(c);
        this.event('credential', 'created', c);
        return json(c, 201);
      }
      case 'PUT credentials/{id}': {
        const c = this.find(decodeURIComponent(credentialId![1]));
        if (!c) {
          return json({ detail: 'Credential not found' }, 404);
        }
        const { api_key, ...fields } = body;
        Object.assign(c, fields, { updated: '2024-05-02T10:00:00Z' });
        if (typeof api_key === 'string') {
          c.has_api_key = true;
          c.api_key_hint = `••••${api_key.slice(-4)}`;
        }
        this.event('credential', 'updated', c);
        return json(c);
      }
      case 'DELETE credentials/{id}': {
        const c = this.find(decodeURIComponent(credentialId![1]));
        if (!c) {
          return json({ detail: 'Credential not found' }, 404);
        }
        this.credentials = this.credentials.filter(x => x !== c);
        this.grants = this.grants.filter(g => g.credential_id !== c.id);
        this.event('credential', 'deleted', c);
        return json({ message: 'Credential deleted', deleted_models: 0 });
      }
      case 'POST credentials/{id}/test': {
        const c = this.find(decodeURIComponent(credentialId![1]));
        if (!c) {
          return json({ detail: 'Credential not found' }, 404);
        }
        this.event('credential', 'tested', c, { success: true });
        return json({ provider: c.provider, success: true, message: 'ok' });
      }
      case 'GET usage':
        return json({
          group_by: r.query.get('group_by') ?? 'credential',
          since: r.query.get('since') ?? '',
          rows: this.usage(r.query.get('since') ?? '', r.query)
        });
      case 'GET grants': {
        const only = r.query.get('credential_id');
        return json(
          this.grants.filter(g => only === null || g.credential_id === only)
        );
      }
      case 'PUT grants': {
        const c = this.find(String(body.credential_id));
        if (!c) {
          return json({ detail: 'Credential not found' }, 404);
        }
        const path = String(body.notebook_path);
        const existing = this.grants.find(
          g => g.credential_id === c.id && g.notebook_path === path
        );
        if (existing) {
          return json(existing);
        }
        const grant: IGrant = {
          id: `grant:${++this.nextGrant}`,
          credential_id: c.id,
          credential_name: c.name,
          provider: c.provider,
          notebook_path: path,
          created: '2024-05-01T11:00:00Z'
        };
        this.grants.push(grant);
        this.event('grant', 'granted', c, { notebook_path: path });
        return json(grant, 201);
      }
      case 'DELETE grants/{id}': {
        const id = decodeURIComponent(grantId![1]);
        const grant = this.grants.find(g => g.id === id);
        if (!grant) {
          return json({ detail: 'Grant not found' }, 404);
        }
        this.grants = this.grants.filter(g => g !== grant);
        return json({ ...grant, message: 'Grant revoked' });
      }
      case 'GET audit': {
        const limit = Number(r.query.get('limit') ?? 100);
        return json([...this.audit].reverse().slice(0, limit));
      }
      default:
        return json({ detail: 'Not Found' }, 404);
    }
  }

  private find(id: string): ICredential | undefined {
    return this.credentials.find(c => c.id === id);
  }

  private event(
    kind: IAuditEvent['kind'],
    action: string,
    c: ICredential,
    extra: Partial<IAuditEvent> = {}
  ): void {
    this.audit.push({
      kind,
      action,
      time: '2024-05-01T12:00:00Z',
      credential_id: c.id,
      credential_name: c.name,
      provider: c.provider,
      ...extra
    });
  }
}

/**
 * Let everything the hooks started finish inside `act`: requests answered,
 * their answers read and the state updated.
 */
export async function settle(server: FakeServer): Promise<void> {
  for (let i = 0; i < 20; i++) {
    await act(async () => {
      await new Promise(resolve => setTimeout(resolve, 0));
    });
    if (server.pending === 0) {
      await act(async () => {
        await new Promise(resolve => setTimeout(resolve, 0));
      });
      if (server.pending === 0) {
        return;
      }
    }
  }
  throw new Error(`${server.pending} requests still open`);
}
