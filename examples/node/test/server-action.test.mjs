// server-action.js: the PHP cURL script — one server_action event, and a line saying how it went.
import { test, before, after, beforeEach } from 'node:test'
import assert from 'node:assert/strict'
import { startCollector, collectorEnv, runScript, received, assertWebAnalyzerRequest } from './support.mjs'

let c
before(async () => { c = await startCollector() })
after(() => c.stop())
beforeEach(() => c.reset())

test('sends server_action and reports success', async () => {
  const { code, stdout, stderr } = await runScript('server-action.js', collectorEnv(c))
  assert.equal(code, 0, stderr)
  assert.equal(stdout, 'Event tracked successfully\n')
  const [{ event, request }] = await received(c, 'webanalyzer', 1)
  assertWebAnalyzerRequest(request)
  assert.deepEqual(event, { name: 'server_action', payload: { action: 'user_registered', email: 'user@example.com' } })
})

test('a wrong API key is reported with the collector\'s status and answer, and exits 1', async () => {
  const { code, stdout, stderr } = await runScript('server-action.js', { ...collectorEnv(c), TRACKLANE_WEBANALYZER_API_KEY: 'wrong-key' })
  assert.equal(code, 1)
  assert.equal(stdout, '')
  assert.match(stderr, /^Error: HTTP 401: unauthorized - Missing or invalid API key\n$/)
  const [request] = await c.requests('webanalyzer')
  assert.equal(request.status, 401)
  assert.equal(request.body.name, 'server_action')
})

test('without a key it says which environment variable to set, and exits 1', async () => {
  const env = collectorEnv(c)
  delete env.TRACKLANE_WEBANALYZER_API_KEY
  const { code, stderr } = await runScript('server-action.js', { ...env, TRACKLANE_WEBANALYZER_API_KEY: '' })
  assert.equal(code, 1)
  assert.match(stderr, /^Error: .*api_key.*TRACKLANE_WEBANALYZER_/)
  assert.deepEqual(await c.requests('webanalyzer'), [])
})
