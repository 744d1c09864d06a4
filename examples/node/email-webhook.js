'use strict'
// Email campaign tracking from Web Analyzer App's guide: the email provider's webhook
// (Mailgun, SendGrid...) posts opens, clicks and unsubscribes, and each becomes an
// `email_<event>` event (email_open, email_click, email_unsubscribe).
//
// The guide awaited a fetch before answering; `client.track()` only queues, so the provider
// gets its 200 at once and delivery (batching, retries) happens in the background. It uses
// `client.track`, not `req.tracklane`: the request comes from the provider's servers, so its
// ip and user agent are not the reader's.
//
//   POST /webhooks/email   {event, recipient, campaign_id}
//
// Keys come from the environment: TRACKLANE_WEBANALYZER_API_KEY,
// TRACKLANE_WEBANALYZER_WEBSITE_ID (and TRACKLANE_WEBANALYZER_BASE_URL for another collector).
//
// Run: node email-webhook.js --port 3000

const express = require('express')
const { Client } = require('tracklane')
const { serve } = require('./lib/serve')

const client = new Client({ destinations: 'webanalyzer' })
const app = express()

app.post('/webhooks/email', express.json(), (req, res) => {
  const { event, recipient, campaign_id: campaignId } = req.body || {}
  if (typeof event !== 'string' || event === '') return res.sendStatus(400)
  client.track({
    event: `email_${event}`, // email_open, email_click, email_unsubscribe
    properties: {
      campaign_id: campaignId,
      recipient
    }
  })
  res.sendStatus(200)
})

module.exports = { app, client }

if (require.main === module) serve(app, client)
