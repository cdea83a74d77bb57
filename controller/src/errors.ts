import createError from '@fastify/error'

// Every error the API returns on purpose, each with a stable code. The HTTP
// body is always { statusCode, code, error, message }.

export const StreamNotFound = createError<[string]>('MONIT_ERR_STREAM_NOT_FOUND', 'stream "%s" not found', 404)
export const StreamExists = createError<[string]>('MONIT_ERR_STREAM_EXISTS', 'stream "%s" already exists', 409)
export const InvalidField = createError<[string, string]>('MONIT_ERR_INVALID_FIELD', '%s: %s', 400)
export const AgentNotFound = createError<[string]>('MONIT_ERR_AGENT_NOT_FOUND', 'agent "%s" not found', 404)
export const Unauthorized = createError<[string]>('MONIT_ERR_UNAUTHORIZED', '%s', 401)
export const StorageUnavailable = createError<[string]>('MONIT_ERR_STORAGE_UNAVAILABLE', 'storage unavailable: %s', 503)
