import fs from 'node:fs';
import YAML from 'yaml';
import { packagePath } from '../persistence/packagePath';
import { DEFAULT_LIMITS, type Limits } from '../queue/limits';

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
  /** The answers to a SOAP caller, where they differ from `responses` (api/soap.ts). */
  'x-mqgate-soap-responses'?: Record<string, unknown>;
}

export type PathItem = { parameters?: Array<Parameter | Reference> } & Partial<Record<HttpMethod, Operation>>;

export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, PathItem>;
  components: {
    schemas: Record<string, JsonSchema>;
    parameters?: Record<string, Parameter>;
    responses?: Record<string, unknown>;
    /** The answers to SOAP callers that operations' x-mqgate-soap-responses refer to. */
    'x-mqgate-soap-responses'?: Record<string, unknown>;
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
  /** The document's text, served by getOpenApi: the file's, with this server's limits. */
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

/** The vendor keyword that names the server limit a schema's `maximum` is. */
export const LIMIT_KEYWORD = 'x-mqgate-limit';

/**
 * Sets every `maximum` marked `x-mqgate-limit: <limit>` to this server's
 * value of that limit (and a default above it down to it), so the document a
 * client or SDK reads states the bounds the server enforces. Formatting and
 * comments survive; an unchanged document keeps its text. Parsed once: the
 * text to serve and the document to build routes from.
 */
function withLimits(text: string, limits: Limits): Pick<Spec, 'document' | 'text'> {
  const document = YAML.parseDocument(text);
  // The parser recovers from errors it reports: a spec that is not valid YAML must stop the start, not serve half a contract.
  if (document.errors.length > 0) throw new Error(`openapi.yaml is not valid YAML: ${document.errors[0].message}`);
  let changed = false;
  YAML.visit(document, {
    Map(_key, node) {
      const limit = node.get(LIMIT_KEYWORD);
      if (typeof limit !== 'string') return;
      if (!(limit in limits)) throw new Error(`openapi.yaml: ${LIMIT_KEYWORD} names no limit '${limit}'`);
      const value = limits[limit as keyof Limits];
      if (node.get('maximum') !== value) {
        node.set('maximum', value);
        changed = true;
      }
      const fallback = node.get('default');
      if (typeof fallback === 'number' && fallback > value) node.set('default', value);
    },
  });
  return { document: document.toJS() as OpenApiDocument, text: changed ? document.toString() : text };
}

/**
 * Loads openapi.yaml, the single source of every route and request schema,
 * with this server's limits as the maximums it states.
 */
export function loadSpec(limits: Limits = DEFAULT_LIMITS): Spec {
  const { document, text } = withLimits(fs.readFileSync(packagePath('openapi.yaml'), 'utf8'), limits);
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
