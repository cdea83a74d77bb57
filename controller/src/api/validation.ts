import type { FastifySchemaValidationError } from 'fastify/types/schema.js'

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
  return new Error(`${path} ${first.message ?? 'is invalid'}`)
}
