import createError from '@fastify/error'

// Every error the API returns on purpose, each with a stable code. The HTTP
// body is always { statusCode, code, error, message }.

export const StreamNotFound = createError<[string]>('MONIT_ERR_STREAM_NOT_FOUND', 'stream "%s" not found', 404)
export const StreamExists = createError<[string]>('MONIT_ERR_STREAM_EXISTS', 'stream "%s" already exists', 409)
export const InvalidField = createError<[string, string]>('MONIT_ERR_INVALID_FIELD', '%s: %s', 400)
export const AgentNotFound = createError<[string]>('MONIT_ERR_AGENT_NOT_FOUND', 'agent "%s" not found', 404)
export const AgentInUse = createError<[string, string]>('MONIT_ERR_AGENT_IN_USE', 'agent "%s" %s', 409)
export const Unauthorized = createError<[string]>('MONIT_ERR_UNAUTHORIZED', '%s', 401)
export const StorageUnavailable = createError<[string]>('MONIT_ERR_STORAGE_UNAVAILABLE', 'storage unavailable: %s', 503)
export const Forbidden = createError<[string]>('MONIT_ERR_FORBIDDEN', '%s', 403)
export const UserNotFound = createError<[string]>('MONIT_ERR_USER_NOT_FOUND', 'user "%s" not found', 404)
export const UserExists = createError<[string]>('MONIT_ERR_USER_EXISTS', 'user "%s" already exists', 409)
export const LastAdmin = createError<[string]>(
  'MONIT_ERR_LAST_ADMIN',
  'user "%s" is the last admin; make another user admin first',
  409,
)
export const RateLimited = createError<[string]>(
  'MONIT_ERR_RATE_LIMITED',
  'too many requests; retry in %s',
  429,
)
export const PayloadTooLarge = createError<[number, string]>(
  'MONIT_ERR_PAYLOAD_TOO_LARGE',
  'request body is larger than %d bytes; %s',
  413,
)
export const BufferFull = createError<[string]>('MONIT_ERR_BUFFER_FULL', '%s; retry later', 503)
export const LiveFeedFull = createError<[number]>(
  'MONIT_ERR_LIVE_FEED_FULL',
  'the live feed serves its maximum of %d connections; retry later',
  503,
)
export const AlertChannelNotFound = createError<[string]>('MONIT_ERR_ALERT_CHANNEL_NOT_FOUND', 'alert channel "%s" not found', 404)
export const AlertChannelExists = createError<[string]>('MONIT_ERR_ALERT_CHANNEL_EXISTS', 'alert channel "%s" already exists', 409)
export const AlertChannelInUse = createError<[string, string]>(
  'MONIT_ERR_ALERT_CHANNEL_IN_USE',
  'alert channel "%s" is used by rules %s; remove it from them first',
  409,
)
export const AlertChannelTestFailed = createError<[string, string]>(
  'MONIT_ERR_ALERT_CHANNEL_TEST_FAILED',
  'test of alert channel "%s" failed: %s',
  502,
)
export const AlertRuleNotFound = createError<[string]>('MONIT_ERR_ALERT_RULE_NOT_FOUND', 'alert rule "%s" not found', 404)
export const AlertRuleExists = createError<[string]>('MONIT_ERR_ALERT_RULE_EXISTS', 'alert rule "%s" already exists', 409)
export const AlertNotFound = createError<[string]>('MONIT_ERR_ALERT_NOT_FOUND', 'alert %s not found', 404)
