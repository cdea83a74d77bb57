import { Compile } from 'typebox/compile'
import type { TSchema } from 'typebox'
import {
  agentMessageSchemas,
  controllerMessageSchemas,
  MAX_FRAME_BYTES,
  type AgentMessage,
  type ControllerMessage,
  type ErrorCode,
} from './messages.ts'

export type DecodeResult<M> =
  | { ok: true; message: M }
  | { ok: false; code: ErrorCode; message: string }

type Validators = Record<string, ReturnType<typeof Compile<TSchema>>>

function compileAll(schemas: Record<string, TSchema>): Validators {
  const validators: Validators = {}
  for (const [type, schema] of Object.entries(schemas)) {
    validators[type] = Compile(schema)
  }
  return validators
}

const fromAgent = compileAll(agentMessageSchemas)
const fromController = compileAll(controllerMessageSchemas)

function byteLength(data: string | Buffer): number {
  return typeof data === 'string' ? Buffer.byteLength(data) : data.length
}

/** Describes the first validation error as `path: message`, naming the field. */
function describeFirstError(validator: Validators[string], value: unknown): string {
  const [first] = validator.Errors(value)
  if (first === undefined) return 'invalid message'
  const path = first.instancePath === '' ? '(message)' : first.instancePath
  return `${path}: ${first.message}`
}

function decode<M>(data: string | Buffer, validators: Validators, maxBytes: number): DecodeResult<M> {
  const size = byteLength(data)
  if (size > maxBytes) {
    return { ok: false, code: 'frame_too_large', message: `frame of ${size} bytes exceeds the limit of ${maxBytes} bytes` }
  }

  let value: unknown
  try {
    value = JSON.parse(data.toString())
  } catch (error) {
    return { ok: false, code: 'invalid_json', message: `invalid JSON: ${(error as Error).message}` }
  }

  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, code: 'invalid_message', message: 'a message must be a JSON object' }
  }
  const type = (value as { type?: unknown }).type
  if (typeof type !== 'string') {
    return { ok: false, code: 'invalid_message', message: '/type: missing message type' }
  }
  const validator = validators[type]
  if (validator === undefined) {
    const known = Object.keys(validators).join(', ')
    return { ok: false, code: 'unknown_type', message: `unknown message type "${type.slice(0, 64)}"; expected one of ${known}` }
  }
  if (!validator.Check(value)) {
    return { ok: false, code: 'invalid_message', message: `${type}: ${describeFirstError(validator, value)}` }
  }

  return { ok: true, message: value as M }
}

/** Parses and validates a frame received by the controller from an agent. */
export function decodeAgentMessage(data: string | Buffer, maxBytes = MAX_FRAME_BYTES): DecodeResult<AgentMessage> {
  return decode<AgentMessage>(data, fromAgent, maxBytes)
}

/** Parses and validates a frame received by an agent from the controller. */
export function decodeControllerMessage(
  data: string | Buffer,
  maxBytes = MAX_FRAME_BYTES,
): DecodeResult<ControllerMessage> {
  return decode<ControllerMessage>(data, fromController, maxBytes)
}

export function encodeMessage(message: AgentMessage | ControllerMessage): string {
  return JSON.stringify(message)
}

/** WebSocket close codes used by both sides (4000-4999 is the private range). */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  tooLarge: 1009,
  incompatibleVersion: 4000,
  unauthorized: 4001,
  replaced: 4002,
} as const
