'use strict'
// Dreamdata's session-based anonymous id, on Express: the id lives in the server-side
// session (express-session), not in a cookie of its own, and tracklane takes it from there.
//
//   GET /pricing   a page view (`Page Viewed`) by the session's visitor
//
// Keys come from the environment: TRACKLANE_DREAMDATA_API_KEY (and
// TRACKLANE_DREAMDATA_BASE_URL for another collector). SESSION_SECRET signs the session
// cookie; without it a random one is used and sessions end with the process.
//
// Run: node dreamdata-session.js --port 3000

const { randomUUID } = require('node:crypto')
const express = require('express')
const session = require('express-session')
const tracklane = require('tracklane')
const { serve } = require('./lib/serve')

const client = new tracklane.Client({ destinations: 'dreamdata' })
const app = express()

app.use(session({
  secret: process.env.SESSION_SECRET || randomUUID(),
  resave: false,
  saveUninitialized: false,
  cookie: { sameSite: 'lax', httpOnly: true }
}))

// The guide's middleware, as it was.
app.use((req, res, next) => {
  if (!req.session.anonymousId) {
    req.session.anonymousId = randomUUID()
  }
  next()
})

// No tracklane cookie: the session holds the id.
app.use(tracklane.express({ client, cookie: false, anonymousId: (req) => req.session.anonymousId }))

app.get('/pricing', (req, res) => {
  req.tracklane.track('Page Viewed', { name: 'Pricing' })
  res.type('text').send('Pricing\n')
})

module.exports = { app, client }

if (require.main === module) serve(app, client)
