// dreamdata-session.js: the anonymous id lives in the server session, not in a cookie of its own.
import { test, before, after, beforeEach } from 'node:test'
import assert from 'node:assert/strict'
import { startCollector, collectorEnv, startApp, received, UUID_V4 } from './support.mjs'

let c, app
before(async () => {
  c = await startCollector()
  app = await startApp('dreamdata-session.js', { ...collectorEnv(c), SESSION_SECRET: 'examples-test-secret' })
})
after(async () => {
  await app.stop()
  c.stop()
})
beforeEach(() => c.reset())

test('one session, one anonymous id; a new session gets another; no visitor cookie besides the session', async () => {
  const first = await fetch(`${app.url}/pricing`)
  const cookies = first.headers.getSetCookie()
  assert.equal(cookies.length, 1, `only the session cookie: ${cookies}`)
  assert.match(cookies[0], /^connect\.sid=/)
  const session = cookies[0].split(';')[0]
  await fetch(`${app.url}/pricing`, { headers: { cookie: session } })
  const [a, b] = (await received(c, 'dreamdata', 2)).map((e) => e.event)
  assert.match(a.anonymousId, UUID_V4)
  assert.equal(b.anonymousId, a.anonymousId)
  assert.equal(a.event, 'Page Viewed')
  assert.deepEqual(a.properties, { name: 'Pricing' })
  assert.equal(a.context.page.url, `${app.url}/pricing`)

  await c.reset()
  const other = await fetch(`${app.url}/pricing`)
  assert.notEqual(other.headers.getSetCookie()[0].split(';')[0], session)
  const [{ event }] = await received(c, 'dreamdata', 1)
  assert.match(event.anonymousId, UUID_V4)
  assert.notEqual(event.anonymousId, a.anonymousId)
})
