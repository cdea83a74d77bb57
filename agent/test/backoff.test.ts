import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Backoff } from '../src/connection/backoff.ts'

test('backoff doubles up to its cap', () => {
  const backoff = new Backoff(500, 30_000, 0.3, () => 0.5)
  const delays = Array.from({ length: 9 }, () => backoff.next())
  assert.equal(delays, [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000])
})

test('backoff jitter stays within 30 percent', () => {
  const low = new Backoff(1000, 30_000, 0.3, () => 0)
  const high = new Backoff(1000, 30_000, 0.3, () => 0.999999)
  assert.is(low.next(), 700)
  assert.is(high.next(), 1300)
})

test('backoff spreads many agents apart', () => {
  const delays = Array.from({ length: 500 }, () => new Backoff(30_000, 30_000).next())
  const distinct = new Set(delays.map((delay) => Math.round(delay / 100)))
  assert.ok(Math.min(...delays) >= 21_000)
  assert.ok(Math.max(...delays) <= 39_000)
  assert.ok(distinct.size > 50, `only ${distinct.size} distinct delays`)
})

test('backoff reset starts again from the first delay', () => {
  const backoff = new Backoff(500, 30_000, 0, Math.random)
  backoff.next()
  backoff.next()
  backoff.reset()
  assert.is(backoff.next(), 500)
})

test.run()
