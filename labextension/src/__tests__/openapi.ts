/**
 * The server's OpenAPI description (`open_notebook_ext/**\/openapi.yaml`),
 * and a check of TypeScript interfaces against its schemas, for the tests.
 */
import * as fs from 'fs';
import * as yaml from 'js-yaml';
import * as path from 'path';
import * as ts from 'typescript';

/** The repository root (labextension/src/__tests__ → ../../..). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

/** A schema object of the spec, as parsed. */
export interface ISchema {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  properties?: Record<string, ISchema>;
  required?: string[];
  items?: ISchema;
  allOf?: ISchema[];
  additionalProperties?: boolean | ISchema;
  [key: string]: unknown;
}

export interface IOperation {
  parameters?: { name: string; in: string }[];
  [key: string]: unknown;
}

export interface ISpec {
  paths: Record<string, Record<string, IOperation>>;
  components: { schemas: Record<string, ISchema> };
}

/** The spec file: the one `openapi.yaml` in the Python package. */
export function specPath(): string {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        // The built panel and caches hold no spec.
        if (
          !['labextension', '__pycache__', 'node_modules'].includes(entry.name)
        ) {
          walk(full);
        }
      } else if (entry.name === 'openapi.yaml') {
        found.push(full);
      }
    }
  };
  walk(path.join(REPO_ROOT, 'open_notebook_ext'));
  if (found.length !== 1) {
    throw new Error(`expected one openapi.yaml, found: ${found.join(', ')}`);
  }
  return found[0];
}

export function loadSpec(): ISpec {
  return yaml.load(fs.readFileSync(specPath(), 'utf-8')) as ISpec;
}

/** The value a JSON pointer (`#/components/schemas/Grant`) names. */
export function resolvePointer(spec: ISpec, pointer: string): ISchema {
  if (!pointer.startsWith('#/')) {
    throw new Error(`not a local JSON pointer: ${pointer}`);
  }
  let node: unknown = spec;
  for (const raw of pointer.slice(2).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (!node || typeof node !== 'object' || !(key in node)) {
      throw new Error(`${pointer}: no "${key}"`);
    }
    node = (node as Record<string, unknown>)[key];
  }
  return node as ISchema;
}

const merged = new WeakMap<ISchema, ISchema>();

/**
 * A schema with its `$ref` followed and its `allOf` merged (the same object
 * each time for the same schema).
 */
function resolve(spec: ISpec, schema: ISchema): ISchema {
  if (schema.$ref) {
    return resolve(spec, resolvePointer(spec, schema.$ref));
  }
  if (!schema.allOf) {
    return schema;
  }
  let result = merged.get(schema);
  if (!result) {
    const parts = schema.allOf.map(s => resolve(spec, s));
    result = {
      type: 'object',
      properties: Object.assign({}, ...parts.map(p => p.properties ?? {})),
      required: parts.flatMap(p => p.required ?? [])
    };
    merged.set(schema, result);
  }
  return result;
}

/** The JSON types a schema allows ("integer" counts as "number"). */
function schemaKinds(schema: ISchema): Set<string> {
  let types: string[];
  if (schema.type === undefined) {
    types = schema.properties || schema.additionalProperties ? ['object'] : [];
  } else {
    types = Array.isArray(schema.type) ? schema.type : [schema.type];
  }
  return new Set(types.map(t => (t === 'integer' ? 'number' : t)));
}

function same(a: Set<string>, b: Set<string>): boolean {
  return a.size === b.size && [...a].every(x => b.has(x));
}

function show(set: Set<string>): string {
  return [...set].sort().join('|') || '(none)';
}

/** A `@schema` tag's pointer, if the declaration has one. */
function schemaTag(node: ts.Node): string | undefined {
  const tag = ts.getJSDocTags(node).find(t => t.tagName.text === 'schema');
  if (!tag) {
    return undefined;
  }
  const text =
    typeof tag.comment === 'string'
      ? tag.comment
      : ts.getTextOfJSDocComment(tag.comment);
  return text?.trim();
}

let previous: ts.Program | undefined;

/**
 * Compare the interfaces of a TypeScript file with the schemas their
 * `@schema` tags name. Returns the differences, one line each; an empty
 * list means they match. Exported interfaces without a tag are reported.
 */
export function checkInterfaces(
  fileName: string,
  spec: ISpec
): { checked: string[]; problems: string[] } {
  // ES5's declarations are enough for plain data types, and far fewer to
  // parse than the default (DOM) ones; the previous program's are reused.
  const program = ts.createProgram(
    [fileName],
    { strict: true, noEmit: true, types: [], lib: ['lib.es5.d.ts'] },
    undefined,
    previous
  );
  previous = program;
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(fileName);
  if (!source) {
    throw new Error(`cannot read ${fileName}`);
  }
  const problems: string[] = [];
  const checked: string[] = [];
  // Interface symbol to the (resolved) schema it mirrors.
  const tagged = new Map<ts.Symbol, ISchema>();
  const interfaces: [ts.InterfaceDeclaration, ts.Symbol, ISchema][] = [];

  for (const statement of source.statements) {
    if (!ts.isInterfaceDeclaration(statement)) {
      continue;
    }
    const name = statement.name.text;
    const symbol = checker.getSymbolAtLocation(statement.name);
    const pointer = schemaTag(statement);
    if (!pointer || !symbol) {
      problems.push(`${name}: no @schema tag`);
      continue;
    }
    let schema: ISchema;
    try {
      schema = resolve(spec, resolvePointer(spec, pointer));
    } catch (e) {
      problems.push(`${name}: ${(e as Error).message}`);
      continue;
    }
    tagged.set(symbol, schema);
    interfaces.push([statement, symbol, schema]);
  }

  const tsKinds = (type: ts.Type): Set<string> => {
    const kinds = new Set<string>();
    const parts = type.isUnion() ? type.types : [type];
    for (const t of parts) {
      const f = t.flags;
      if (f & ts.TypeFlags.Undefined) {
        continue;
      } else if (f & (ts.TypeFlags.String | ts.TypeFlags.StringLiteral)) {
        kinds.add('string');
      } else if (f & (ts.TypeFlags.Number | ts.TypeFlags.NumberLiteral)) {
        kinds.add('number');
      } else if (f & (ts.TypeFlags.Boolean | ts.TypeFlags.BooleanLiteral)) {
        kinds.add('boolean');
      } else if (f & ts.TypeFlags.Null) {
        kinds.add('null');
      } else if (checker.isArrayType(t)) {
        kinds.add('array');
      } else if (f & ts.TypeFlags.Object) {
        kinds.add('object');
      } else {
        kinds.add(checker.typeToString(t));
      }
    }
    return kinds;
  };

  /** The part of a type that is not null or undefined. */
  const nonNull = (type: ts.Type): ts.Type[] =>
    (type.isUnion() ? type.types : [type]).filter(
      t => !(t.flags & (ts.TypeFlags.Null | ts.TypeFlags.Undefined))
    );

  const compare = (type: ts.Type, raw: ISchema, where: string): void => {
    const schema = resolve(spec, raw);
    const sk = schemaKinds(schema);
    const tk = tsKinds(type);
    if (sk.size > 0 && !same(sk, tk)) {
      problems.push(`${where}: the spec says ${show(sk)}, TS ${show(tk)}`);
      return;
    }
    const parts = nonNull(type);
    // Enums: a union of string literals exactly when the spec has an enum.
    const literals = parts.filter(t => t.isStringLiteral());
    const specEnum = (schema.enum ?? []).filter(v => v !== null).map(String);
    if (specEnum.length > 0 || literals.length > 0) {
      const tsEnum = new Set(
        literals.map(t => (t as ts.StringLiteralType).value)
      );
      if (
        literals.length !== parts.length ||
        !same(new Set(specEnum), tsEnum)
      ) {
        problems.push(
          `${where}: the spec's enum is ${show(new Set(specEnum))}, TS ${checker.typeToString(type)}`
        );
      }
      return;
    }
    if (parts.length !== 1) {
      return;
    }
    const [t] = parts;
    if (checker.isArrayType(t)) {
      const [element] = checker.getTypeArguments(t as ts.TypeReference);
      if (schema.items) {
        compare(element, schema.items, `${where}[]`);
      }
      return;
    }
    if (!(t.flags & ts.TypeFlags.Object)) {
      return;
    }
    const symbol = t.getSymbol();
    const mirrored = symbol && tagged.get(symbol);
    if (mirrored) {
      // Another tagged interface: it must mirror this very schema.
      if (mirrored !== schema) {
        problems.push(
          `${where}: ${symbol.name} mirrors another schema than the spec uses here`
        );
      }
      return;
    }
    const index = checker.getIndexTypeOfType(t, ts.IndexKind.String);
    if (index) {
      if (typeof schema.additionalProperties === 'object') {
        compare(index, schema.additionalProperties, `${where}[key]`);
      } else {
        problems.push(`${where}: a record in TS, not in the spec`);
      }
      return;
    }
    compareObject(t, schema, where);
  };

  const compareObject = (type: ts.Type, schema: ISchema, where: string) => {
    const properties = schema.properties ?? {};
    const required = new Set(schema.required ?? []);
    const tsProps = new Map(
      checker.getPropertiesOfType(type).map(p => [p.name, p])
    );
    for (const name of Object.keys(properties)) {
      if (!tsProps.has(name)) {
        problems.push(`${where}.${name}: in the spec, missing in TS`);
      }
    }
    for (const [name, prop] of tsProps) {
      const propSchema = properties[name];
      if (!propSchema) {
        problems.push(`${where}.${name}: in TS, not in the spec`);
        continue;
      }
      const optional = (prop.flags & ts.SymbolFlags.Optional) !== 0;
      if (optional === required.has(name)) {
        problems.push(
          `${where}.${name}: ${required.has(name) ? 'required' : 'optional'} in the spec, ${optional ? 'optional' : 'required'} in TS`
        );
      }
      const declaration = prop.valueDeclaration ?? prop.declarations?.[0];
      if (declaration) {
        compare(
          checker.getTypeOfSymbolAtLocation(prop, declaration),
          propSchema,
          `${where}.${name}`
        );
      }
    }
  };

  for (const [statement, symbol, schema] of interfaces) {
    checked.push(symbol.name);
    compareObject(
      checker.getDeclaredTypeOfSymbol(symbol),
      schema,
      statement.name.text
    );
  }
  return { checked, problems };
}
