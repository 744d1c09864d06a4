'use strict'
// A small shop on Express: the Laravel controllers from Web Analyzer App's server-side
// tracking guide, ported onto tracklane.
//
//   GET  /checkout         checkout page; a hidden `visitor_id` field carries the browser
//                          tracker's id (localStorage `ot_vid`) to the server
//   POST /checkout         "creates" the Stripe Checkout session with `visitor_id` and the
//                          referring page in its metadata (no Stripe here: it answers the
//                          parameters it would send)
//   POST /webhooks/stripe  checkout.session.completed → `purchase`, linked to the visitor
//                          through that metadata; a replayed webhook answers `skipped`
//   GET  /contact          contact page, same hidden field
//   POST /contact          stores the message → `form_submit`
//
// Keys come from the environment, never from code: TRACKLANE_WEBANALYZER_API_KEY,
// TRACKLANE_WEBANALYZER_WEBSITE_ID (and TRACKLANE_WEBANALYZER_BASE_URL for another collector).
//
// Run: node shop.js --port 3000

const express = require('express')
const { Client } = require('tracklane')
const { serve } = require('./lib/serve')

const client = new Client({ destinations: 'webanalyzer' })
const app = express()
const form = express.urlencoded({ extended: false })

/** What the shop sells; Stripe amounts are in cents. */
const PLANS = {
  pro: { name: 'Pro plan', currency: 'usd', unitAmount: 4999 }
}

/** Stands in for the `ContactMessage` model. */
const contactMessages = []

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/**
 * A visitor id from the browser (form field, Stripe metadata), or undefined. Web Analyzer
 * rejects an event whose visitor_id is not a UUID, so a mangled id is dropped here: the event
 * is still recorded, just not linked to the visitor's journey.
 */
function visitorId (value) {
  return typeof value === 'string' && UUID.test(value) ? value : undefined
}

/** `4999` → `"49.99"` (PHP's number_format($cents / 100, 2), minus the thousands separator). */
function formatAmount (cents) {
  return typeof cents === 'number' ? (cents / 100).toFixed(2) : undefined
}

/** A page whose form carries the browser tracker's visitor id in a hidden field. */
function pageWithVisitorId (title, action, fields) {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${title}</title></head>
<body>
<h1>${title}</h1>
<form action="${action}" method="POST">
  <input type="hidden" name="visitor_id" id="wa-visitor-id">
  ${fields}
</form>
<script>
  document.getElementById('wa-visitor-id').value =
    localStorage.getItem('ot_vid') || '';
</script>
</body>
</html>
`
}

app.get('/checkout', (req, res) => {
  res.type('html').send(pageWithVisitorId('Checkout', '/checkout', `
  <input type="hidden" name="plan" value="pro">
  <button type="submit">Purchase</button>`))
})

app.post('/checkout', form, (req, res) => {
  const plan = PLANS[req.body.plan]
  if (!plan) return res.status(422).json({ error: 'unknown plan' })
  const metadata = {}
  if (req.body.visitor_id) metadata.visitor_id = req.body.visitor_id
  if (req.get('referer')) metadata.page_url = req.get('referer')
  const origin = `${req.protocol}://${req.get('host')}`
  const params = {
    line_items: [{
      price_data: { currency: plan.currency, product_data: { name: plan.name }, unit_amount: plan.unitAmount },
      quantity: 1
    }],
    mode: 'payment',
    success_url: `${origin}/checkout/success`,
    cancel_url: `${origin}/checkout`,
    metadata
  }
  // With Stripe: `const session = await stripe.checkout.sessions.create(params)`, then
  // `res.redirect(303, session.url)`. The metadata comes back in the webhook below.
  res.json(params)
})

app.post('/webhooks/stripe', express.json(), (req, res) => {
  // In production verify the `Stripe-Signature` header first (stripe.webhooks.constructEvent).
  const event = req.body || {}
  if (event.type !== 'checkout.session.completed') return res.json({ ok: true, ignored: event.type })
  const session = event.data.object
  const metadata = session.metadata || {}
  const outcome = client.track({
    event: 'purchase',
    // Stripe delivers a webhook more than once: its id is the message id, and tracklane drops
    // an id it has seen in the last 48 hours (the seed kept a cache entry for that).
    messageId: event.id,
    anonymousId: visitorId(metadata.visitor_id),
    properties: {
      order_id: session.id,
      amount: formatAmount(session.amount_total),
      currency: session.currency && session.currency.toUpperCase(),
      customer: session.customer_email || undefined
    },
    context: { url: metadata.page_url }
  })
  if (outcome.status === 'duplicate') return res.json({ ok: true, skipped: true })
  if (outcome.errors.length > 0) console.warn('purchase not tracked everywhere:', outcome.errors)
  // track() only queued it: Stripe gets its answer without waiting for the collector.
  res.json({ ok: true })
})

app.get('/contact', (req, res) => {
  res.type('html').send(pageWithVisitorId('Contact us', '/contact', `
  <input name="email" type="email" placeholder="you@example.com" required>
  <input name="subject" placeholder="Subject">
  <textarea name="message" required></textarea>
  <button type="submit">Send</button>`))
})

app.post('/contact', form, (req, res) => {
  const { email, subject, message } = req.body
  if (!email || !email.includes('@') || !message) {
    return res.status(422).json({ error: 'email and message are required' })
  }
  contactMessages.push({ email, subject, message })
  client.track({
    event: 'form_submit',
    anonymousId: visitorId(req.body.visitor_id),
    properties: { form: 'contact', subject }
  })
  res.redirect(303, '/contact?sent=1')
})

module.exports = { app, client, contactMessages }

if (require.main === module) serve(app, client)
