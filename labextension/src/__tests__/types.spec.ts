/**
 * src/api/types.ts against the server's OpenAPI description: every
 * interface names its schema (`@schema`), and field names, optionality,
 * nullability, basic types and enums all match.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { checkInterfaces, loadSpec, specPath } from './openapi';

const TYPES = path.resolve(__dirname, '..', 'api', 'types.ts');

describe('api/types.ts', () => {
  const spec = loadSpec();

  it('reads the spec the server serves', () => {
    expect(specPath()).toMatch(/open_notebook_ext\/.*openapi\.yaml$/);
    expect(Object.keys(spec.components.schemas)).toContain('Credential');
  });

  it('matches the OpenAPI schemas', () => {
    const { checked, problems } = checkInterfaces(TYPES, spec);
    expect(problems).toEqual([]);
    expect(checked).toEqual(
      expect.arrayContaining([
        'IProviderField',
        'IProvider',
        'IStatus',
        'IStatusCounts',
        'ICredential',
        'ICredentialDeleteResponse',
        'ITestResult',
        'IGrant',
        'IRevokedGrant',
        'IAuditEvent',
        'IFieldError',
        'IGrantRequest'
      ])
    );
  });
});

describe('checkInterfaces', () => {
  // The check itself must see a difference: interfaces that are each wrong
  // in one way, in a file of their own.
  const spec = loadSpec();
  let dir: string;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'on-types-'));
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const check = (source: string) => {
    const file = path.join(dir, `t${Math.random().toString(36).slice(2)}.ts`);
    fs.writeFileSync(file, source);
    return checkInterfaces(file, spec).problems;
  };

  it('reports missing, extra, optional, nullable, type and enum differences', () => {
    const problems = check(`
      /** @schema #/components/schemas/Grant */
      export interface IGrant {
        id: string;
        credential_id: string;
        credential_name?: string;
        provider: string | null;
        notebook_path: number;
        expires: string;
      }
      /** @schema #/components/schemas/ProviderField */
      export interface IProviderField {
        name: string;
        label: string;
        required: boolean;
        secret: boolean;
        type: 'text' | 'url';
        prefill?: string;
      }
    `);
    expect(problems).toEqual(
      expect.arrayContaining([
        'IGrant.created: in the spec, missing in TS',
        'IGrant.expires: in TS, not in the spec',
        'IGrant.credential_name: required in the spec, optional in TS',
        'IGrant.provider: the spec says string, TS null|string',
        'IGrant.notebook_path: the spec says string, TS number',
        expect.stringMatching(
          /^IProviderField\.type: the spec's enum is integer\|text\|url/
        )
      ])
    );
    expect(problems).toHaveLength(6);
  });

  it('reports an interface without a schema, and a pointer to nothing', () => {
    expect(
      check(`
        export interface IUntagged { id: string }
        /** @schema #/components/schemas/NoSuchThing */
        export interface IMissing { id: string }
      `)
    ).toEqual([
      'IUntagged: no @schema tag',
      'IMissing: #/components/schemas/NoSuchThing: no "NoSuchThing"'
    ]);
  });

  it('checks array items and nested interfaces against their schemas', () => {
    const problems = check(`
      /** @schema #/components/schemas/ProviderField */
      export interface IField {
        name: string; label: string; required: boolean; secret: boolean;
        type: 'text' | 'url' | 'integer'; prefill?: string;
      }
      /** @schema #/components/schemas/Grant */
      export interface IGrant {
        id: string; credential_id: string; credential_name: string;
        provider: string; notebook_path: string; created: string;
      }
      /** @schema #/components/schemas/Provider */
      export interface IProvider {
        name: string; display_name: string; modalities: number[];
        docs_url?: string | null; env_configured: boolean;
        requires_api_key: boolean; fields: IGrant[]; connection_test: boolean;
      }
    `);
    expect(problems).toEqual([
      'IProvider.modalities[]: the spec says string, TS number',
      'IProvider.fields[]: IGrant mirrors another schema than the spec uses here'
    ]);
  });
});
