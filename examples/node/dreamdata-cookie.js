'use strict'
// Dreamdata's cookie-based anonymous id, on Express: a UUID in the `dd_anonymous_id` cookie
// (one year, SameSite=Lax, Secure, shared by every subdomain of COOKIE_DOMAIN), handed to
// another top-level domain through a `dd_anon_id` URL parameter, and aliased to the user id
// at login. The guide's hand-written middleware becomes `tracklane.express`.
//
//   GET  /pricing          a page view (`Page Viewed`) by the cookie's visitor
//   GET  /go/example-io    redirect to LANDING_URL with `?dd_anon_id=<visitor id>`
//   GET  /landing          the other domain's landing page: adopts `dd_anon_id`
//   POST /login            alias the anonymous id to the user id, then identify
//
// Run the same app on both domains: on example.com with LANDING_URL pointing at the
// example.io deployment, and on example.io with COOKIE_DOMAIN=.example.io.
//
// Keys come from the environment: TRACKLANE_DREAMDATA_API_KEY (and
// TRACKLANE_DREAMDATA_BASE_URL for another collector).
//
// Run: node dreamdata-cookie.js --port 3000

const express = require('express')
const tracklane = require('tracklane')
const { serve } = require('./lib/serve')

/** Where /go/example-io sends visitors. */
const LANDING_URL = process.env.LANDING_URL || 'https://example.io/landing'
/** Cookies set for `.example.com` reach www.example.com and app.example.com alike. */
const COOKIE_DOMAIN = process.env.COOKIE_DOMAIN || '.example.com'
/** The URL parameter carrying the visitor id across top-level domains. */
const HANDOFF_PARAM = 'dd_anon_id'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

const client = new tracklane.Client({ destinations: 'dreamdata' })
const app = express()

app.use(tracklane.express({
  client,
  cookie: 'dd_anonymous_id',
  domain: COOKIE_DOMAIN,
  path: '/',
  maxAge: 365 * 24 * 60 * 60 * 1000,
  sameSite: 'lax',
  secure: true,
  // A visitor arriving from the other domain brings their id along; it wins over a cookie
  // this domain may have set before, and becomes this domain's cookie. Only UUIDs are taken,
  // so a crafted link cannot put arbitrary text into the cookie.
  anonymousId: (req) => {
    const handedOff = req.query[HANDOFF_PARAM]
    return typeof handedOff === 'string' && UUID.test(handedOff) ? handedOff : undefined
  }
}))

app.get('/pricing', (req, res) => {
  req.tracklane.track('Page Viewed', { name: 'Pricing' })
  res.type('text').send('Pricing\n')
})

app.get('/go/example-io', (req, res) => {
  const url = new URL(LANDING_URL)
  url.searchParams.set(HANDOFF_PARAM, req.tracklane.anonymousId)
  res.redirect(url.toString())
})

app.get('/landing', (req, res) => {
  req.tracklane.track('Page Viewed', { name: 'Landing' })
  res.type('text').send('Welcome\n')
})

app.post('/login', express.urlencoded({ extended: false }), (req, res) => {
  const { userId, email } = req.body
  if (!userId) return res.status(422).json({ error: 'userId is required' })
  // Links what this visitor did anonymously to the account (alias: previousId = visitor id).
  req.tracklane.alias(userId)
  req.tracklane.userId = userId
  req.tracklane.identify(userId, email ? { email } : {})
  res.json({ ok: true })
})

module.exports = { app, client }

if (require.main === module) serve(app, client)
