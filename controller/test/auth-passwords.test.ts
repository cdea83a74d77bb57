// scrypt password hashes: format, verification and the guards on stored values.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { hashPassword, needsRehash, verifyAgainstDummy, verifyPassword } from '../src/auth/passwords.ts'

let stored: string

test.before(async () => {
  stored = await hashPassword('correct horse battery')
})

test('hash is a PHC scrypt string', () => {
  assert.match(stored, /^\$scrypt\$ln=17,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/)
  assert.not.match(stored, /correct/)
})

test('same password gets a new salt', async () => {
  assert.is.not(await hashPassword('correct horse battery'), stored)
})

test('right password verifies', async () => {
  assert.ok(await verifyPassword('correct horse battery', stored))
})

test('wrong password fails', async () => {
  assert.not.ok(await verifyPassword('correct horse batter', stored))
  assert.not.ok(await verifyPassword('', stored))
})

test('unicode forms compare equal', async () => {
  // "é" as one code point and as e + combining accent.
  const hash = await hashPassword('caf\u00e9-password')
  assert.ok(await verifyPassword('cafe\u0301-password', hash))
})

/** Builds a well-formed scrypt string with the given ln or r. */
function hashWith(params: { ln?: string; r?: string }): string {
  return `$scrypt$ln=${params.ln ?? '17'},r=${params.r ?? '8'},p=1$c2FsdHNhbHRzYWx0c2FsdA$${'A'.repeat(43)}`
}

const malformed: Array<[string, string]> = [
  ['empty', ''],
  ['other scheme', '$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA'],
  ['huge cost', hashWith({ ln: '30' })],
  ['zero r', hashWith({ r: '0' })],
  ['short hash', '$scrypt$ln=17,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaA'],
]

for (const [name, hash] of malformed) {
  test(`malformed hash fails: ${name}`, async () => {
    assert.not.ok(await verifyPassword('anything', hash))
    assert.ok(needsRehash(hash))
  })
}

test('current parameters need no rehash', () => {
  assert.not.ok(needsRehash(stored))
  assert.ok(needsRehash(stored.replace('ln=17', 'ln=14')))
})

test('older parameters still verify', async () => {
  // A hash made with ln=14, as an older release might have stored.
  const { scryptSync } = await import('node:crypto')
  const salt = Buffer.from('0123456789abcdef')
  const key = scryptSync('old-password', salt, 32, { N: 2 ** 14, r: 8, p: 1 })
  const encode = (buffer: Buffer) => buffer.toString('base64').replace(/=+$/, '')
  const old = `$scrypt$ln=14,r=8,p=1$${encode(salt)}$${encode(key)}`
  assert.ok(await verifyPassword('old-password', old))
  assert.ok(needsRehash(old))
})

test('dummy verification is always false', async () => {
  assert.is(await verifyAgainstDummy('anything'), false)
})

test.run()
