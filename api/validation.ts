import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { Request } from 'express';
import { type FieldError, GatewayError } from '../queue/errors';
import type { JsonSchema, Parameter, Spec, SpecOperation } from './spec';

const COMPONENTS_ID = 'mqgate:components';
const COMPONENT_REF = '#/components/schemas/';

/** Points `#/components/schemas/X` at the one registered copy of the components. */
function rewriteRefs(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rewriteRefs);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    out[key] =
      key === '$ref' && typeof value === 'string' && value.startsWith(COMPONENT_REF)
        ? `${COMPONENTS_ID}#/$defs/${value.slice(COMPONENT_REF.length)}`
        : rewriteRefs(value);
  }
  return out;
}

function fieldErrors(prefix: string, errors: ErrorObject[] | null | undefined): FieldError[] {
  return (errors ?? []).map((error) => {
    const params = error.params as { additionalProperty?: string; missingProperty?: string };
    const extra = params.additionalProperty ?? params.missingProperty;
    const pointer = `${prefix}${error.instancePath}${extra === undefined ? '' : `/${extra}`}`;
    const detail = params.additionalProperty !== undefined ? 'is not a known field' : (error.message ?? 'is invalid');
    return { pointer, detail };
  });
}

function describe(errors: FieldError[]): string {
  return errors
    .slice(0, 3)
    .map((e) => `${e.pointer} ${e.detail}`)
    .join('; ');
}

/** Checks a request against its operation; throws the GatewayError a client should see. */
export type RequestValidator = (req: Request) => void;

/**
 * A compiler for schemas that may `$ref` the spec's components; the components
 * are registered once. Used for requests here and for responses in the tests.
 */
export function createSchemaCompiler(spec: Spec): (schema: JsonSchema) => ValidateFunction {
  const ajv = new Ajv2020({ allErrors: true, strict: true, useDefaults: true, allowUnionTypes: true });
  addFormats(ajv);
  ajv.addSchema({ $id: COMPONENTS_ID, $defs: rewriteRefs(spec.document.components.schemas) });
  return (schema) => ajv.compile(rewriteRefs(schema) as JsonSchema);
}

/**
 * Compiles one validator per operation from openapi.yaml: path parameters,
 * header parameters and the JSON body. No request schema exists anywhere
 * else. Defaults declared in the spec are filled into the body.
 */
export function compileValidators(spec: Spec): Map<string, RequestValidator> {
  const compile = createSchemaCompiler(spec);
  const objectOf = (parameters: Parameter[], lowerCase: boolean): ValidateFunction =>
    compile({
      type: 'object',
      properties: Object.fromEntries(parameters.map((p) => [lowerCase ? p.name.toLowerCase() : p.name, p.schema])),
      required: parameters.filter((p) => p.required === true).map((p) => (lowerCase ? p.name.toLowerCase() : p.name)),
    });

  const validators = new Map<string, RequestValidator>();
  for (const op of spec.operations) {
    validators.set(op.operation.operationId, buildValidator(op, objectOf, compile));
  }
  return validators;
}

function buildValidator(
  op: SpecOperation,
  objectOf: (parameters: Parameter[], lowerCase: boolean) => ValidateFunction,
  compile: (schema: JsonSchema) => ValidateFunction,
): RequestValidator {
  const unsupported = op.parameters.find((p) => p.in !== 'path' && p.in !== 'header');
  if (unsupported !== undefined) {
    throw new Error(`openapi.yaml: ${op.operation.operationId}: ${unsupported.in} parameters are not supported`);
  }
  const pathParams = objectOf(
    op.parameters.filter((p) => p.in === 'path'),
    false,
  );
  const headerParams = objectOf(
    op.parameters.filter((p) => p.in === 'header'),
    true,
  );
  const bodySchema = op.operation.requestBody?.content['application/json']?.schema;
  const body = bodySchema === undefined ? null : compile(bodySchema);
  const bodyRequired = op.operation.requestBody?.required === true;

  return (req) => {
    if (!pathParams(req.params)) {
      const errors = fieldErrors('/path', pathParams.errors);
      throw new GatewayError('invalid_name', `Invalid name in the path: ${describe(errors)}.`, { errors });
    }
    if (!headerParams(req.headers)) {
      const errors = fieldErrors('/headers', headerParams.errors);
      throw new GatewayError('validation_failed', `Invalid header: ${describe(errors)}.`, { errors });
    }
    if (body === null || Buffer.isBuffer(req.body)) return;
    if (req.body === undefined) {
      if (bodyRequired) {
        const errors = [{ pointer: '/body', detail: 'a JSON body is required' }];
        throw new GatewayError('validation_failed', 'This operation needs a JSON body.', { errors });
      }
      req.body = {};
    }
    if (!body(req.body)) {
      const errors = fieldErrors('/body', body.errors);
      throw new GatewayError('validation_failed', `The request body is invalid: ${describe(errors)}.`, { errors });
    }
  };
}
