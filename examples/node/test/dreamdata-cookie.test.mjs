// dreamdata-cookie.js: the `dd_anonymous_id` cookie, the cross-domain `dd_anon_id` hand-off
// (two deployments of the app, one per top-level domain) and alias at login.
import { test, before, after, beforeEach } from 'node:test'
import assert from 'node:assert/strict'
import { startCollector, collectorEnv, startApp, received, setCookie, KEYS, UUID_V4 } from './support.mjs'

const VISITOR = '7c9e6679-7425-40de-944b-e07fc1f90ae7'

let c, exampleIo, exampleCom
before(async () => {
  c = await startCollector()
  // example.io first: example.com's outbound link points at it.
  exampleIo = await startApp('dreamdata-cookie.js', { ...collectorEnv(c), COOKIE_DOMAIN: '.example.io' })
  exampleCom = await startApp('dreamdata-cookie.js', { ...collectorEnv(c), LANDING_URL: `${exampleIo.url}/landing` })
})
after(async () => {
  await Promise.all([exampleIo.stop(), exampleCom.stop()])
  c.stop()
})
beforeEach(() => c.reset())

function assertDreamdataRequest (request) {
  assert.equal(request.path, '/v1/batch')
  assert.equal(request.method, 'POST')
  assert.equal(request.headers.authorization, `Basic ${Buffer.from(`${KEYS.dreamdata}:`).toString('base64')}`)
  assert.equal(request.status, 200)
  assert.match(request.body.sentAt, /Z$/)
}

test('a first visit gets dd_anonymous_id for a year, SameSite=Lax, Secure, on .example.com', async () => {
  const res = await fetch(`${exampleCom.url}/pricing`, { headers: { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64)', referer: 'https://www.google.com/' } })
  assert.equal(res.status, 200)
  const cookie = setCookie(res, 'dd_anonymous_id')
  assert.ok(cookie, 'dd_anonymous_id is set')
  assert.match(cookie.value, UUID_V4)
  for (const attribute of ['Max-Age=31536000', 'Domain=.example.com', 'Path=/', 'Secure', 'SameSite=Lax', 'HttpOnly']) {
    assert.ok(cookie.attributes.includes(attribute), `${attribute} in ${cookie.line}`)
  }
  const [{ event, request }] = await received(c, 'dreamdata', 1)
  assertDreamdataRequest(request)
  assert.equal(event.type, 'track')
  assert.equal(event.event, 'Page Viewed')
  assert.equal(event.anonymousId, cookie.value)
  assert.deepEqual(event.properties, { name: 'Pricing' })
  assert.equal(event.context.ip, '127.0.0.1')
  assert.equal(event.context.userAgent, 'Mozilla/5.0 (X11; Linux x86_64)')
  assert.deepEqual(event.context.page, { url: `${exampleCom.url}/pricing`, referrer: 'https://www.google.com/' })
  assert.match(event.messageId, UUID_V4)
})

test('a returning visitor keeps their dd_anonymous_id', async () => {
  const res = await fetch(`${exampleCom.url}/pricing`, { headers: { cookie: `dd_anonymous_id=${VISITOR}` } })
  assert.equal(setCookie(res, 'dd_anonymous_id'), undefined)
  const [{ event }] = await received(c, 'dreamdata', 1)
  assert.equal(event.anonymousId, VISITOR)
})

test('cross-domain: the visitor id travels in dd_anon_id and becomes the other domain\'s cookie', async () => {
  const out = await fetch(`${exampleCom.url}/go/example-io`, { headers: { cookie: `dd_anonymous_id=${VISITOR}` }, redirect: 'manual' })
  assert.equal(out.status, 302)
  const location = new URL(out.headers.get('location'))
  assert.equal(`${location.origin}${location.pathname}`, `${exampleIo.url}/landing`)
  assert.equal(location.searchParams.get('dd_anon_id'), VISITOR)
  // The browser follows the redirect to the other domain, where it has no cookie yet.
  const landing = await fetch(location)
  const cookie = setCookie(landing, 'dd_anonymous_id')
  assert.equal(cookie.value, VISITOR)
  assert.ok(cookie.attributes.includes('Domain=.example.io'), cookie.line)
  const [{ event, request }] = await received(c, 'dreamdata', 1)
  assertDreamdataRequest(request)
  assert.equal(event.event, 'Page Viewed')
  assert.deepEqual(event.properties, { name: 'Landing' })
  assert.equal(event.anonymousId, VISITOR)
  assert.equal(event.context.page.url, location.href)
})

test('a dd_anon_id that is not a UUID is ignored', async () => {
  const res = await fetch(`${exampleIo.url}/landing?dd_anon_id=${encodeURIComponent('<script>')}`)
  const cookie = setCookie(res, 'dd_anonymous_id')
  assert.match(cookie.value, UUID_V4)
  const [{ event }] = await received(c, 'dreamdata', 1)
  assert.equal(event.anonymousId, cookie.value)
})

test('login aliases the anonymous id to the user id, then identifies', async () => {
  const res = await fetch(`${exampleCom.url}/login`, {
    method: 'POST',
    headers: { cookie: `dd_anonymous_id=${VISITOR}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ userId: 'user-123', email: 'jake@yahoo.com' })
  })
  assert.equal(res.status, 200)
  const events = (await received(c, 'dreamdata', 2)).map((e) => e.event)
  const alias = events.find((e) => e.type === 'alias')
  assert.equal(alias.previousId, VISITOR)
  assert.equal(alias.userId, 'user-123')
  const identify = events.find((e) => e.type === 'identify')
  assert.equal(identify.userId, 'user-123')
  assert.equal(identify.anonymousId, VISITOR)
  assert.deepEqual(identify.traits, { email: 'jake@yahoo.com' })
})
