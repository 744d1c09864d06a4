'use strict'
// Koala's server-side guide, on Express: use the visitor's `ko_id` cookie as the Koala
// `profile_id`, or make a UUID v4 and set the cookie on the shared top domain, so the app
// (app.example.com) and the marketing site with Koala's browser snippet (www.example.com)
// see one visitor. The guide's version needs cookie-parser and uuid; the tracklane
// middleware reads and sets the cookie itself and binds the id to `req.tracklane`.
//
//   GET  /        the guide's route: sends an event with the visitor's profile_id
//   POST /signup  identifies the visitor by email and sends `Created Account`
//
// Keys come from the environment: TRACKLANE_KOALA_PUBLIC_KEY (and TRACKLANE_KOALA_BASE_URL
// for another collector). COOKIE_DOMAIN overrides `.example.com`.
//
// Run: node koala-profile-cookie.js --port 3000

const express = require('express')
const tracklane = require('tracklane')
const { serve } = require('./lib/serve')

const client = new tracklane.Client({ destinations: 'koala' })
const app = express()

/** Stands in for the user table. */
const users = []

app.use(tracklane.express({
  client,
  cookie: 'ko_id',
  domain: process.env.COOKIE_DOMAIN || '.example.com',
  // Koala's browser snippet on www.example.com reads this cookie too.
  httpOnly: false
}))

app.get('/', (req, res) => {
  req.tracklane.track('Opened App', { path: req.path })
  res.type('text').send(`profile_id ${req.tracklane.anonymousId}\n`)
})

app.post('/signup', express.urlencoded({ extended: false }), (req, res) => {
  const email = req.body.email
  if (!email || !email.includes('@')) return res.status(422).json({ error: 'email is required' })
  const user = { id: `user-${users.length + 1}`, email }
  users.push(user)
  // Koala's identify is {profile_id, email}: it ties this profile to the address, so what
  // the visitor did anonymously, on this site or the other, now belongs to a known person.
  req.tracklane.identify(user.id, { email })
  req.tracklane.track('Created Account', { plan: req.body.plan || 'free' })
  res.status(201).json({ ok: true, userId: user.id })
})

module.exports = { app, client }

if (require.main === module) serve(app, client)
