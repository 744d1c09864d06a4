// email-webhook.js: the email provider's webhook → email_open / email_click / email_unsubscribe.
import { test, before, after, beforeEach } from 'node:test'
import assert from 'node:assert/strict'
import { startCollector, collectorEnv, startApp, received, assertWebAnalyzerRequest } from './support.mjs'

let c, app
before(async () => {
  c = await startCollector()
  app = await startApp('email-webhook.js', collectorEnv(c))
})
after(async () => {
  await app.stop()
  c.stop()
})
beforeEach(() => c.reset())

function webhook (body) {
  return fetch(`${app.url}/webhooks/email`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
}

test('opens, clicks and unsubscribes become email_<event> with campaign and recipient', async () => {
  for (const event of ['open', 'click', 'unsubscribe']) {
    const res = await webhook({ event, recipient: 'jane@example.com', campaign_id: 'spring-sale' })
    assert.equal(res.status, 200)
    assert.equal(await res.text(), 'OK')
  }
  const events = await received(c, 'webanalyzer', 3)
  for (const { request } of events) assertWebAnalyzerRequest(request)
  assert.deepEqual(events.map((e) => e.event).sort((x, y) => x.name.localeCompare(y.name)), [
    { name: 'email_click', payload: { campaign_id: 'spring-sale', recipient: 'jane@example.com' } },
    { name: 'email_open', payload: { campaign_id: 'spring-sale', recipient: 'jane@example.com' } },
    { name: 'email_unsubscribe', payload: { campaign_id: 'spring-sale', recipient: 'jane@example.com' } }
  ])
})

test('a webhook without an event is refused and not tracked', async () => {
  assert.equal((await webhook({ recipient: 'jane@example.com' })).status, 400)
  assert.equal((await webhook({ event: 'open', recipient: 'max@example.com', campaign_id: 'c2' })).status, 200)
  const [{ event }] = await received(c, 'webanalyzer', 1)
  assert.deepEqual(event, { name: 'email_open', payload: { campaign_id: 'c2', recipient: 'max@example.com' } })
})
