// crm.js: onLeadCreated(lead) → lead_created, configured from the environment.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { startCollector, collectorEnv, received, assertWebAnalyzerRequest } from './support.mjs'

const require = createRequire(import.meta.url)
let c, crm
before(async () => {
  c = await startCollector()
  Object.assign(process.env, collectorEnv(c))
  crm = require('../crm.js')
})
after(async () => {
  await crm.client.close()
  c.stop()
})

test('a new lead is tracked as lead_created with its id, source, company and value as strings', async () => {
  const outcome = crm.onLeadCreated({ id: 4711, source: 'webinar', company: 'Acme GmbH', estimatedValue: 12500.5 })
  assert.equal(outcome.status, 'queued')
  assert.deepEqual(outcome.destinations, ['webanalyzer'])
  const [{ event, request }] = await received(c, 'webanalyzer', 1)
  assertWebAnalyzerRequest(request)
  assert.deepEqual(event, { name: 'lead_created', payload: { lead_id: '4711', source: 'webinar', company: 'Acme GmbH', value: '12500.5' } })
})
