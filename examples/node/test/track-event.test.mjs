// track-event.js: the trackEvent(name, payload, visitorId) helper, as a module and as a script.
import { test, before, after, beforeEach } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { startCollector, collectorEnv, runScript, received, assertWebAnalyzerRequest } from './support.mjs'

const require = createRequire(import.meta.url)
const VISITOR = '550e8400-e29b-41d4-a716-446655440000'
let c, helper
before(async () => {
  c = await startCollector()
  Object.assign(process.env, collectorEnv(c))
  helper = require('../track-event.js')
})
after(async () => {
  await helper.client.close()
  c.stop()
})
beforeEach(() => c.reset())

test('run as a script, the guide\'s signup event is delivered before the process exits', async () => {
  const { code, stderr } = await runScript('track-event.js', collectorEnv(c))
  assert.equal(code, 0, stderr)
  const [{ event, request }] = await received(c, 'webanalyzer', 1)
  assertWebAnalyzerRequest(request)
  assert.deepEqual(event, { name: 'signup', payload: { plan: 'free', source: 'organic' } })
})

test('with a visitor id the event is linked to the visitor', async () => {
  const outcome = helper.trackEvent('invoice_paid', { invoice_id: 'INV-2024-001', amount: '149.99', currency: 'USD' }, VISITOR)
  assert.equal(outcome.status, 'queued')
  const [{ event }] = await received(c, 'webanalyzer', 1)
  assert.deepEqual(event, { name: 'invoice_paid', payload: { invoice_id: 'INV-2024-001', amount: '149.99', currency: 'USD' }, visitor_id: VISITOR })
})

test('an event Web Analyzer would refuse throws before anything is sent', () => {
  assert.throws(() => helper.trackEvent('x'.repeat(129)), { code: 'webanalyzer.name.too_long', message: /^Tracking failed: event / })
  const eleven = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, 'v']))
  assert.throws(() => helper.trackEvent('too_many_keys', eleven), { code: 'webanalyzer.payload.too_many_keys' })
})
