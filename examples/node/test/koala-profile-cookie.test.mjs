// koala-profile-cookie.js: the `ko_id` cookie is the Koala profile_id, shared on .example.com.
import { test, before, after, beforeEach } from 'node:test'
import assert from 'node:assert/strict'
import { startCollector, collectorEnv, startApp, received, setCookie, KEYS, UUID_V4 } from './support.mjs'

/** The profile id in Koala's own example request. */
const PROFILE = '3e6a2c18-3b02-40c4-b8d2-1842c193d3ba'

let c, app
before(async () => {
  c = await startCollector()
  app = await startApp('koala-profile-cookie.js', collectorEnv(c))
})
after(async () => {
  await app.stop()
  c.stop()
})
beforeEach(() => c.reset())

function assertKoalaRequest (request, profileId) {
  assert.equal(request.path, `/web/projects/${KEYS.koala}/batch`)
  assert.equal(request.method, 'POST')
  assert.equal(request.status, 200)
  assert.equal(request.body.profile_id, profileId)
}

test('a first visit gets a UUID v4 ko_id on the shared domain, and the event carries it as profile_id', async () => {
  const res = await fetch(`${app.url}/`)
  assert.equal(res.status, 200)
  const cookie = setCookie(res, 'ko_id')
  assert.ok(cookie, 'ko_id is set')
  assert.match(cookie.value, UUID_V4)
  assert.ok(cookie.attributes.includes('Domain=.example.com'), cookie.line)
  assert.ok(cookie.attributes.includes('Path=/'), cookie.line)
  assert.ok(cookie.attributes.includes('Max-Age=31536000'), cookie.line)
  // Koala's browser snippet reads the same cookie, so it must not be HttpOnly.
  assert.ok(!cookie.attributes.includes('HttpOnly'), cookie.line)
  const [{ event, request }] = await received(c, 'koala', 1)
  assertKoalaRequest(request, cookie.value)
  assert.equal(event.type, 'track')
  assert.equal(event.event, 'Opened App')
  assert.deepEqual(event.properties, { path: '/' })
  assert.match(event.message_id, UUID_V4)
  assert.match(event.sent_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
})

test('an existing ko_id (set by the other site) is respected and not replaced', async () => {
  const res = await fetch(`${app.url}/`, { headers: { cookie: `_ga=GA1.1.1; ko_id=${PROFILE}` } })
  assert.equal(await res.text(), `profile_id ${PROFILE}\n`)
  assert.equal(setCookie(res, 'ko_id'), undefined)
  const [{ request }] = await received(c, 'koala', 1)
  assertKoalaRequest(request, PROFILE)
})

test('signup identifies the profile by email and sends Created Account', async () => {
  const res = await fetch(`${app.url}/signup`, {
    method: 'POST',
    headers: { cookie: `ko_id=${PROFILE}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ email: 'jane@example.com', plan: 'pro' })
  })
  assert.equal(res.status, 201)
  const events = await received(c, 'koala', 2)
  for (const { request } of events) assertKoalaRequest(request, PROFILE)
  const identify = events.find((e) => e.event.type === 'identify')
  assert.deepEqual(identify.request.body, { profile_id: PROFILE, email: 'jane@example.com' })
  const track = events.find((e) => e.event.type === 'track')
  assert.equal(track.event.event, 'Created Account')
  assert.deepEqual(track.event.properties, { plan: 'pro' })
})
