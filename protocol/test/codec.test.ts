import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { decodeAgentMessage, decodeControllerMessage, PROTOCOL_VERSION } from '../src/index.ts'

const hello = {
  type: 'hello',
  protocol: PROTOCOL_VERSION,
  agent_id: 'edge-1',
  name: 'edge one',
  version: '0.1.0',
  labels: { region: 'eu-west' },
  capacity: 10,
  streams: [],
}

test('decode accepts a valid hello', () => {
  const result = decodeAgentMessage(JSON.stringify(hello))
  assert.ok(result.ok)
})

const rejected: Array<[string, string | Buffer, string, RegExp]> = [
  ['invalid JSON', '{"type":', 'invalid_json', /invalid JSON/],
  ['array', '[1,2]', 'invalid_message', /JSON object/],
  ['missing type', '{"agent_id":"a"}', 'invalid_message', /\/type/],
  ['unknown type', '{"type":"shutdown"}', 'unknown_type', /unknown message type "shutdown"/],
  ['missing field', JSON.stringify({ ...hello, agent_id: undefined }), 'invalid_message', /agent_id/],
  ['wrong field type', JSON.stringify({ ...hello, capacity: 'ten' }), 'invalid_message', /capacity/],
  ['bad id characters', JSON.stringify({ ...hello, agent_id: 'a b' }), 'invalid_message', /agent_id/],
  ['oversized frame', Buffer.alloc(2048, 32), 'frame_too_large', /2048 bytes/],
]

for (const [name, frame, code, pattern] of rejected) {
  test(`decode rejects ${name}`, () => {
    const result = decodeAgentMessage(frame, 1024)
    assert.is(result.ok, false)
    if (result.ok) return
    assert.is(result.code, code)
    assert.match(result.message, pattern)
  })
}

test('decode keeps controller and agent types apart', () => {
  const perform = { type: 'perform', stream_id: 's1', url: 'http://127.0.0.1/a.m3u8', epoch: 1, probe: { interval_s: 10, sample_s: 5, timeout_s: 10 } }
  assert.ok(decodeControllerMessage(JSON.stringify(perform)).ok)
  const fromAgent = decodeAgentMessage(JSON.stringify(perform))
  assert.is(fromAgent.ok, false)
})

test.run()
