// shop.js: the Laravel controllers (Stripe checkout webhook, idempotent webhook, checkout
// session metadata, contact form) and the visitor-id hand-off, over real HTTP.
import { test, before, after, beforeEach } from 'node:test'
import assert from 'node:assert/strict'
import vm from 'node:vm'
import { startCollector, collectorEnv, startApp, received, assertWebAnalyzerRequest } from './support.mjs'

const VISITOR = '550e8400-e29b-41d4-a716-446655440000'

let c, shop
before(async () => {
  c = await startCollector()
  shop = await startApp('shop.js', collectorEnv(c))
})
after(async () => {
  await shop.stop()
  c.stop()
})
beforeEach(() => c.reset())

/**
 * What a browser does with a page from the shop: runs its inline scripts against the given
 * localStorage, then returns the form's action, method and the fields it would post.
 */
function submitForm (html, storage) {
  const form = html.match(/<form action="([^"]+)" method="([^"]+)">([\s\S]*?)<\/form>/)
  assert.ok(form, 'the page has a form')
  const inputs = {}
  for (const [tag] of form[3].matchAll(/<input[^>]*>/g)) {
    const attr = (name) => (tag.match(new RegExp(`\\b${name}="([^"]*)"`)) || [])[1]
    inputs[attr('id') || attr('name')] = { name: attr('name'), type: attr('type'), value: attr('value') || '' }
  }
  const document = { getElementById: (id) => inputs[id] || null }
  const localStorage = { getItem: (key) => (key in storage ? storage[key] : null) }
  for (const [, script] of html.matchAll(/<script>([\s\S]*?)<\/script>/g)) {
    vm.runInNewContext(script, { document, localStorage })
  }
  const fields = Object.fromEntries(Object.values(inputs).map((i) => [i.name, i.value]))
  return { action: form[1], method: form[2], fields, inputs }
}

function postForm (url, fields, headers = {}) {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields),
    redirect: 'manual'
  })
}

function stripeWebhook (id, session) {
  return fetch(`${shop.url}/webhooks/stripe`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)' },
    body: JSON.stringify({ id, object: 'event', type: 'checkout.session.completed', data: { object: session } })
  }).then((res) => res.json())
}

test('checkout page carries the client-side visitor id to the server in a hidden field', async () => {
  const html = await (await fetch(`${shop.url}/checkout`)).text()
  const page = submitForm(html, { ot_vid: VISITOR })
  assert.deepEqual(page.inputs['wa-visitor-id'], { name: 'visitor_id', type: 'hidden', value: VISITOR })
  assert.equal(page.action, '/checkout')
  assert.equal(page.method, 'POST')
  // No client-side tracker (nothing in localStorage): the field is posted empty.
  assert.equal(submitForm(html, {}).fields.visitor_id, '')
})

test('checkout session metadata holds the visitor id and the referring page', async () => {
  const res = await postForm(`${shop.url}/checkout`, { visitor_id: VISITOR, plan: 'pro' }, { referer: `${shop.url}/pricing` })
  assert.equal(res.status, 200)
  const params = await res.json()
  assert.deepEqual(params.metadata, { visitor_id: VISITOR, page_url: `${shop.url}/pricing` })
  assert.equal(params.mode, 'payment')
  assert.equal(params.line_items[0].price_data.unit_amount, 4999)
  assert.equal(params.success_url, `${shop.url}/checkout/success`)
})

test('visitor id hand-off: page → checkout metadata → Stripe webhook → purchase linked to the visitor', async () => {
  // 1. The browser loads the checkout page; its script fills the hidden field from ot_vid.
  const html = await (await fetch(`${shop.url}/checkout`)).text()
  const page = submitForm(html, { ot_vid: VISITOR })
  // 2. It posts the form; the server puts visitor id and referring page into the metadata.
  const params = await (await postForm(shop.url + page.action, page.fields, { referer: `${shop.url}/checkout` })).json()
  // 3. Stripe calls the webhook when the payment is done, with that metadata.
  const answer = await stripeWebhook('evt_handoff_1', {
    id: 'cs_test_handoff_1',
    object: 'checkout.session',
    amount_total: 4999,
    currency: 'usd',
    customer_email: 'jane@example.com',
    metadata: params.metadata
  })
  assert.deepEqual(answer, { ok: true })
  const [{ event, request }] = await received(c, 'webanalyzer', 1)
  assertWebAnalyzerRequest(request)
  assert.deepEqual(event, {
    name: 'purchase',
    payload: { order_id: 'cs_test_handoff_1', amount: '49.99', currency: 'USD', customer: 'jane@example.com' },
    visitor_id: VISITOR,
    url: `${shop.url}/checkout`
  })
})

test('checkout.session.completed: amount formatted, currency upper-cased, page url from metadata', async () => {
  await stripeWebhook('evt_amount_1', {
    id: 'cs_test_amount_1',
    amount_total: 123456,
    currency: 'eur',
    customer_email: 'max@example.de',
    metadata: { visitor_id: '7c9e6679-7425-40de-944b-e07fc1f90ae7', page_url: 'https://example.com/pricing' }
  })
  const [{ event }] = await received(c, 'webanalyzer', 1)
  assert.deepEqual(event.payload, { order_id: 'cs_test_amount_1', amount: '1234.56', currency: 'EUR', customer: 'max@example.de' })
  assert.equal(event.visitor_id, '7c9e6679-7425-40de-944b-e07fc1f90ae7')
  assert.equal(event.url, 'https://example.com/pricing')
})

test('a session without visitor metadata is still recorded, just not linked to a visitor', async () => {
  await stripeWebhook('evt_anonymous_1', { id: 'cs_test_anonymous_1', amount_total: 500, currency: 'usd', customer_email: null, metadata: { visitor_id: 'not-a-uuid' } })
  const [{ event }] = await received(c, 'webanalyzer', 1)
  assert.deepEqual(event, { name: 'purchase', payload: { order_id: 'cs_test_anonymous_1', amount: '5.00', currency: 'USD' } })
})

test('a replayed webhook answers skipped and is not tracked twice', async () => {
  const session = { id: 'cs_test_replay_1', amount_total: 2999, currency: 'usd', customer_email: 'jane@example.com', metadata: { visitor_id: VISITOR } }
  assert.deepEqual(await stripeWebhook('evt_replay_1', session), { ok: true })
  assert.deepEqual(await stripeWebhook('evt_replay_1', session), { ok: true, skipped: true })
  // A new webhook for another session goes through; the collector sees two purchases, not three.
  assert.deepEqual(await stripeWebhook('evt_replay_2', { ...session, id: 'cs_test_replay_2' }), { ok: true })
  const events = await received(c, 'webanalyzer', 2)
  assert.deepEqual(events.map((e) => e.event.payload.order_id).sort(), ['cs_test_replay_1', 'cs_test_replay_2'])
})

test('other Stripe event types are acknowledged and not tracked', async () => {
  const res = await fetch(`${shop.url}/webhooks/stripe`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id: 'evt_other_1', type: 'payment_intent.created', data: { object: { id: 'pi_1' } } })
  })
  assert.deepEqual(await res.json(), { ok: true, ignored: 'payment_intent.created' })
  await stripeWebhook('evt_other_2', { id: 'cs_test_other_2', amount_total: 100, currency: 'usd', metadata: {} })
  const [{ event }] = await received(c, 'webanalyzer', 1)
  assert.equal(event.payload.order_id, 'cs_test_other_2')
})

test('contact form: the message is stored and form_submit carries the form visitor id and subject', async () => {
  const html = await (await fetch(`${shop.url}/contact`)).text()
  const page = submitForm(html, { ot_vid: VISITOR })
  assert.equal(page.action, '/contact')
  const invalid = await postForm(`${shop.url}/contact`, { ...page.fields, email: 'not an address', subject: 'Nope', message: 'x' })
  assert.equal(invalid.status, 422)
  const res = await postForm(`${shop.url}/contact`, { ...page.fields, email: 'jane@example.com', subject: 'Pricing question', message: 'Do you offer discounts?' })
  assert.equal(res.status, 303)
  assert.equal(res.headers.get('location'), '/contact?sent=1')
  // Only the valid submission was tracked.
  const [{ event, request }] = await received(c, 'webanalyzer', 1)
  assertWebAnalyzerRequest(request)
  assert.deepEqual(event, { name: 'form_submit', payload: { form: 'contact', subject: 'Pricing question' }, visitor_id: VISITOR })
})
