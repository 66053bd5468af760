/**
 * The API client over a real ServerConnection with a fake `fetch`: which
 * requests it makes (all of them in the OpenAPI spec), and how each kind of
 * failure becomes an ApiError.
 */
import { nullTranslator } from '@jupyterlab/translation';

import {
  ApiError,
  asApiError,
  CredentialsClient,
  NETWORK_DETAIL,
  NOT_JSON_DETAIL,
  SESSION_EXPIRED_DETAIL
} from '../api';
import { FakeServer, json, TOKEN } from './fakeServer';
import { loadSpec } from './openapi';

const trans = nullTranslator.load('open_notebook_ext');

/** The spec's path templates as regexes, with their methods. */
function specRoutes(): { method: string; template: string; regex: RegExp }[] {
  const spec = loadSpec();
  return Object.entries(spec.paths).flatMap(([template, operations]) =>
    Object.keys(operations)
      .filter(m => m !== 'parameters')
      .map(method => ({
        method: method.toUpperCase(),
        template,
        regex: new RegExp(
          '^' + template.slice(1).replace(/\{[^}]+\}/g, '[^/]+') + '$'
        )
      }))
  );
}

async function failure(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (e) {
    expect(e).toBeInstanceOf(ApiError);
    return e as ApiError;
  }
  throw new Error('expected the request to fail');
}

describe('CredentialsClient requests', () => {
  let server: FakeServer;
  let client: CredentialsClient;

  beforeEach(() => {
    server = new FakeServer();
    client = new CredentialsClient(server.settings);
  });

  it('makes only requests the OpenAPI spec describes', async () => {
    const c = server.add({ id: 'credential:a/b?c' });
    await client.providers();
    await client.status();
    await client.list();
    await client.create({ name: 'New', provider: 'openai', api_key: 'sk-1' });
    await client.update(c.id, { name: 'Renamed' });
    await client.test(c.id);
    const grant = await client.grant(c.id, 'work/analysis.ipynb');
    await client.grants();
    await client.grants(c.id);
    await client.revokeGrant(grant.id);
    await client.audit(20);
    await client.remove(c.id);

    const routes = specRoutes();
    const used = server.requests.map(r => {
      const route = routes.find(
        x => x.method === r.method && x.regex.test(r.path)
      );
      expect({ request: `${r.method} ${r.path}`, inSpec: !!route }).toEqual({
        request: `${r.method} ${r.path}`,
        inSpec: true
      });
      return `${r.method} ${route?.template}`;
    });
    expect(used).toEqual([
      'GET /providers',
      'GET /credentials/status',
      'GET /credentials',
      'POST /credentials',
      'PUT /credentials/{credential_id}',
      'POST /credentials/{credential_id}/test',
      'PUT /grants',
      'GET /grants',
      'GET /grants',
      'DELETE /grants/{grant_id}',
      'GET /audit',
      'DELETE /credentials/{credential_id}'
    ]);
  });

  it('escapes ids in paths and queries', async () => {
    const c = server.add({ id: 'credential:a/b?c' });
    await client.update(c.id, { name: 'x' });
    await client.grants(c.id);
    expect(server.requests[0].path).toBe('credentials/credential%3Aa%2Fb%3Fc');
    expect(server.requests[1].query.get('credential_id')).toBe(c.id);
  });

  it('sends JSON bodies and the token, as JupyterLab does', async () => {
    const c = server.add();
    await client.create({ name: 'New', provider: 'openai', api_key: 'sk-1' });
    await client.grant(c.id, 'a.ipynb');
    await client.audit(20);
    const [create, grant, audit] = server.requests;
    expect(create.body).toEqual({
      name: 'New',
      provider: 'openai',
      api_key: 'sk-1'
    });
    expect(create.headers.get('Content-Type')).toBe('application/json');
    expect(create.headers.get('Authorization')).toBe(`token ${TOKEN}`);
    expect(grant.body).toEqual({
      credential_id: c.id,
      notebook_path: 'a.ipynb'
    });
    expect(audit.query.get('limit')).toBe('20');
  });

  it('sends the XSRF cookie back as a header', async () => {
    document.cookie = '_xsrf=xsrf-value';
    try {
      await client.list();
      expect(server.requests[0].headers.get('X-XSRFToken')).toBe('xsrf-value');
    } finally {
      document.cookie = '_xsrf=; expires=Thu, 01 Jan 1970 00:00:00 GMT';
    }
  });

  it('reads the answers', async () => {
    const c = server.add({ name: 'Work' });
    expect(await client.list()).toEqual([c]);
    expect((await client.test(c.id)).success).toBe(true);
    expect(await client.remove(c.id)).toEqual({
      message: 'Credential deleted',
      deleted_models: 0
    });
    expect(await client.list()).toEqual([]);
  });
});

describe('CredentialsClient errors', () => {
  let server: FakeServer;
  let client: CredentialsClient;

  beforeEach(() => {
    server = new FakeServer();
    client = new CredentialsClient(server.settings);
  });

  it('says the session expired on a 401, whatever the body says', async () => {
    server.on('GET', /^credentials$/, json({ detail: 'Unauthorized' }, 401));
    const error = await failure(client.list());
    expect(error.status).toBe(401);
    expect(error.isUnauthenticated).toBe(true);
    expect(error.isNetwork).toBe(false);
    expect(error.detail).toBe(SESSION_EXPIRED_DETAIL);
  });

  it('keeps the field errors of a 409 (a name already used)', async () => {
    server.on(
      'POST',
      /^credentials$/,
      json(
        {
          detail: 'A credential named "Work" already exists for openai',
          errors: [{ field: 'name', message: 'already exists' }]
        },
        409
      )
    );
    const error = await failure(client.create({ name: 'Work' }));
    expect(error.status).toBe(409);
    expect(error.detail).toBe(
      'A credential named "Work" already exists for openai'
    );
    expect(error.errors).toEqual([
      { field: 'name', message: 'already exists' }
    ]);
  });

  it('keeps well-formed field errors of a 422 and drops the rest', async () => {
    server.on(
      'PUT',
      /^credentials\//,
      json(
        {
          detail: 'Invalid fields',
          errors: [
            { field: 'body.base_url', message: 'must be a URL', extra: 1 },
            { field: 'name' },
            'text',
            null,
            { field: 'num_ctx', message: 'too large' }
          ]
        },
        422
      )
    );
    const error = await failure(client.update('credential:1', { name: 'x' }));
    expect(error.status).toBe(422);
    expect(error.detail).toBe('Invalid fields');
    expect(error.errors).toEqual([
      { field: 'body.base_url', message: 'must be a URL' },
      { field: 'num_ctx', message: 'too large' }
    ]);
  });

  it('never shows a body that is not JSON (a proxy error page)', async () => {
    server.on(
      'GET',
      /^credentials$/,
      () =>
        new Response('<html><body>nginx <script>x()</script></body></html>', {
          status: 502,
          statusText: 'Bad Gateway',
          headers: { 'Content-Type': 'text/html' }
        })
    );
    const error = await failure(client.list());
    expect(error.status).toBe(502);
    expect(error.detail).toBe('The server answered 502 Bad Gateway');
    expect(error.errors).toEqual([]);
  });

  it('uses the status when the JSON has no detail', async () => {
    server.on('GET', /^providers$/, json({ message: 'no' }, 500));
    const error = await failure(client.providers());
    expect(error.detail).toMatch(/^The server answered 500/);
  });

  it('turns a failed connection into a network error', async () => {
    const offline = new CredentialsClient({
      ...server.settings,
      fetch: () => Promise.reject(new TypeError('Failed to fetch'))
    });
    const error = await failure(offline.list());
    expect(error.status).toBe(0);
    expect(error.isNetwork).toBe(true);
    expect(error.detail).toBe(NETWORK_DETAIL);
  });

  it('refuses a success answer that is not JSON', async () => {
    server.on('GET', /^credentials$/, () => new Response('<html></html>'));
    const error = await failure(client.list());
    expect(error.status).toBe(200);
    expect(error.detail).toBe(NOT_JSON_DETAIL);
  });
});

describe('asApiError', () => {
  it('keeps an ApiError and hides anything else behind "try again"', () => {
    const api = new ApiError(404, 'Credential not found');
    expect(asApiError(api, trans)).toBe(api);
    const other = asApiError(new TypeError('x is undefined at line 3'), trans);
    expect(other.status).toBe(-1);
    expect(other.detail).toBe('Something went wrong. Try again.');
  });
});
