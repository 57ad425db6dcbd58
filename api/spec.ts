import fs from 'node:fs';
import YAML from 'yaml';
import { packagePath } from '../persistence/packagePath';

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** A JSON Schema (2020-12) node, as OpenAPI 3.1 embeds it. */
export type JsonSchema = Record<string, unknown>;

export interface Reference {
  $ref: string;
}

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema: JsonSchema;
}

export interface Operation {
  operationId: string;
  /** Who may call it: `public`, `health`, `metrics`, `signed`, or `<produce|consume|admin|any> <kind>/<{param}|*>` (api/auth.ts). */
  'x-mqgate-access'?: string;
  parameters?: Array<Parameter | Reference>;
  requestBody?: { required?: boolean; content: Record<string, { schema?: JsonSchema }> };
  responses: Record<string, unknown>;
}

export type PathItem = { parameters?: Array<Parameter | Reference> } & Partial<Record<HttpMethod, Operation>>;

export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, PathItem>;
  components: {
    schemas: Record<string, JsonSchema>;
    parameters?: Record<string, Parameter>;
    responses?: Record<string, unknown>;
  };
}

/** One operation of the contract with its path and method, parameters resolved. */
export interface SpecOperation {
  path: string;
  method: HttpMethod;
  operation: Operation;
  parameters: Parameter[];
}

export interface Spec {
  document: OpenApiDocument;
  /** The file's text, served as-is by getOpenApi. */
  text: string;
  operations: SpecOperation[];
}

function isReference(value: Parameter | Reference): value is Reference {
  return '$ref' in value;
}

function resolveParameter(document: OpenApiDocument, parameter: Parameter | Reference): Parameter {
  if (!isReference(parameter)) return parameter;
  const name = parameter.$ref.replace('#/components/parameters/', '');
  const resolved = document.components.parameters?.[name];
  if (resolved === undefined) throw new Error(`openapi.yaml: unresolved parameter ${parameter.$ref}`);
  return resolved;
}

/** Loads openapi.yaml, the single source of every route and request schema. */
export function loadSpec(file = packagePath('openapi.yaml')): Spec {
  const text = fs.readFileSync(file, 'utf8');
  const document = YAML.parse(text) as OpenApiDocument;
  const operations: SpecOperation[] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of HTTP_METHODS) {
      const operation = item[method];
      if (operation === undefined) continue;
      const parameters = [...(item.parameters ?? []), ...(operation.parameters ?? [])].map((p) =>
        resolveParameter(document, p),
      );
      operations.push({ path, method, operation, parameters });
    }
  }
  return { document, text, operations };
}
