import { STATUS_CODES } from 'node:http'
import type { FastifyError, FastifyInstance } from 'fastify'
import type { FastifySchemaValidationError } from 'fastify/types/schema.js'
import { Ajv } from 'ajv'
import addFormatsModule from 'ajv-formats'

// ajv-formats is CommonJS with its function on `default`.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default

/**
 * Formats a request validation failure so that the message names the field:
 * `body/color: unknown field`, `body/url: missing`, `querystring/limit must be integer`.
 */
export function formatValidationError(errors: FastifySchemaValidationError[], dataVar: string): Error {
  const first = errors[0]
  if (first === undefined) return new Error(`${dataVar}: invalid`)
  const path = `${dataVar}${first.instancePath}`
  const params = first.params as { additionalProperty?: string; missingProperty?: string; allowedValues?: unknown[] }

  if (first.keyword === 'additionalProperties' && params.additionalProperty !== undefined) {
    // A map such as labels takes any key that matches its pattern: a key that does not is invalid, not unknown.
    const parent = (first as unknown as { parentSchema?: { patternProperties?: Record<string, unknown> } }).parentSchema
    const patterns = Object.keys(parent?.patternProperties ?? {})
    if (patterns.length > 0) {
      return new Error(`${path}: invalid key ${JSON.stringify(params.additionalProperty)}; keys must match ${patterns.join(' or ')}`)
    }
    return new Error(`${path}/${params.additionalProperty}: unknown field`)
  }
  if (first.keyword === 'enum' && Array.isArray(params.allowedValues)) {
    return new Error(`${path} must be one of ${params.allowedValues.map(String).join(', ')}`)
  }
  if (first.keyword === 'required' && params.missingProperty !== undefined) {
    return new Error(`${path}/${params.missingProperty}: missing`)
  }
  // A union of literals fails with one `const` error per choice: list them all.
  const allowed = errors
    .filter((error) => error.instancePath === first.instancePath && error.keyword === 'const')
    .map((error) => String((error.params as { allowedValue?: unknown }).allowedValue))
  if (allowed.length > 0) {
    return new Error(`${path} must be one of ${allowed.join(', ')}`)
  }
  return new Error(`${path} ${first.message ?? 'is invalid'}`)
}

type ValidatorCompiler = Parameters<FastifyInstance['setValidatorCompiler']>[0]

/**
 * Compiles request schemas. Bodies are JSON and keep their types, so a list
 * or a number where a string belongs is a 400; query strings, parameters and
 * headers arrive as text and are converted to the schema's types.
 */
export function createValidatorCompiler(): ValidatorCompiler {
  // strictNumbers rejects NaN and Infinity, which JSON.parse makes from 1e400.
  // verbose puts the failing schema on each error, which the messages above read.
  const options = { removeAdditional: false, useDefaults: true, allErrors: false, strict: false, strictNumbers: true, verbose: true } as const
  const exact = new Ajv({ ...options, coerceTypes: false })
  const converting = new Ajv({ ...options, coerceTypes: 'array' })
  addFormats(exact)
  addFormats(converting)

  return ({ schema, httpPart }) => (httpPart === 'body' ? exact : converting).compile(schema as object)
}

/**
 * Gives unknown routes a code like every other API error, and replaces
 * Fastify's bare messages for bodies it cannot read with the fix: the
 * content type to send, or the size limit. Other errors keep Fastify's
 * handling (the error is passed on to its default handler).
 */
export function explainRequestErrors(app: FastifyInstance): void {
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]
    void reply.code(404).send({ statusCode: 404, code: 'MONIT_ERR_ROUTE_NOT_FOUND', error: 'Not Found', message: `no route ${request.method} ${path}; the API routes are listed at /api/docs` })
  })
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const explained = EXPLAINED[error.code]
    if (explained === undefined) return reply.send(error)
    const statusCode = error.statusCode ?? 400
    const message = explained(app.initialConfig.bodyLimit ?? 0)
    return reply.code(statusCode).send({ statusCode, code: error.code, error: STATUS_CODES[statusCode] ?? 'Bad Request', message })
  })
}

const EXPLAINED: Record<string, ((bodyLimit: number) => string) | undefined> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () => 'unsupported content type; send the body as JSON with content-type: application/json',
  FST_ERR_CTP_EMPTY_JSON_BODY: () => 'the body is empty but content-type is application/json; send a JSON body or no content-type',
  FST_ERR_CTP_BODY_TOO_LARGE: (limit) => `request body is larger than ${limit} bytes`,
  FST_ERR_CTP_INVALID_JSON_BODY: () => 'the body is not valid JSON, or it has a __proto__ or constructor key, which is refused',
}
