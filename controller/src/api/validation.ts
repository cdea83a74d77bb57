import type { FastifyInstance } from 'fastify'
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
  const params = first.params as { additionalProperty?: string; missingProperty?: string }

  if (first.keyword === 'additionalProperties' && params.additionalProperty !== undefined) {
    return new Error(`${path}/${params.additionalProperty}: unknown field`)
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
  const options = { removeAdditional: false, useDefaults: true, allErrors: false, strict: false, strictNumbers: true } as const
  const exact = new Ajv({ ...options, coerceTypes: false })
  const converting = new Ajv({ ...options, coerceTypes: 'array' })
  addFormats(exact)
  addFormats(converting)

  return ({ schema, httpPart }) => (httpPart === 'body' ? exact : converting).compile(schema as object)
}
