import { test, before, after, beforeEach } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import tracklane, { Client } from '../js/index.mjs'
import { startCollector, destination, fastOptions } from './support.mjs'

const require = createRequire(import.meta.url)
const VERSIONS = { 'Express 5': require('express'), 'Express 4': require('express4') }

let c
before(async () => { c = await startCollector() })
after(() => c.stop())
beforeEach(async () => { await c.reset() })

async function withApp (expressLib, setup, fn) {
  const client = new Client(fastOptions([destination(c, 'segment')]))
  const app = expressLib()
  setup(app, client)
  app.post('/lead', (req, res) => {
    const outcome = req.tracklane.track('lead_created', { plan: 'pro' })
    res.json({ anonymousId: req.tracklane.anonymousId, outcome })
  })
  const server = await new Promise((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)) })
  try {
    await fn(`http://127.0.0.1:${server.address().port}`, client)
  } finally {
    await new Promise((resolve) => server.close(resolve))
    await client.close()
  }
}

for (const [label, expressLib] of Object.entries(VERSIONS)) {
  test(`${label}: sets a UUID v4 visitor cookie when absent and binds the context`, async () => {
    await withApp(expressLib, (app, client) => app.use(tracklane.express({ client, cookie: 'ko_id', domain: 'example.com', sameSite: 'lax' })), async (base, client) => {
      const res = await fetch(`${base}/lead?utm=1`, { method: 'POST', headers: { 'user-agent': 'TestAgent/1.0', referer: 'https://google.com/' } })
      const body = await res.json()
      assert.match(body.anonymousId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      const cookie = res.headers.get('set-cookie')
      assert.ok(cookie.startsWith(`ko_id=${body.anonymousId}`), cookie)
      assert.match(cookie, /Domain=example\.com/)
      assert.match(cookie, /SameSite=Lax/i)
      assert.match(cookie, /HttpOnly/)
      assert.equal(body.outcome.status, 'queued')
      await client.flush()
      const [req] = await c.requests('segment')
      const m = req.body.batch[0]
      assert.equal(m.event, 'lead_created')
      assert.equal(m.anonymousId, body.anonymousId)
      assert.deepEqual(m.properties, { plan: 'pro' })
      assert.equal(m.context.userAgent, 'TestAgent/1.0')
      assert.equal(m.context.ip, '127.0.0.1')
      assert.equal(m.context.page.url, `${base}/lead?utm=1`)
      assert.equal(m.context.page.referrer, 'https://google.com/')
    })
  })

  test(`${label}: reuses the visitor cookie when present`, async () => {
    await withApp(expressLib, (app, client) => app.use(tracklane.express({ client, cookie: 'dd_anonymous_id' })), async (base, client) => {
      const res = await fetch(`${base}/lead`, { method: 'POST', headers: { cookie: 'other=1; dd_anonymous_id=7c9e6679-7425-40de-944b-e07fc1f90ae7' } })
      const body = await res.json()
      assert.equal(body.anonymousId, '7c9e6679-7425-40de-944b-e07fc1f90ae7')
      assert.equal(res.headers.get('set-cookie'), null)
      await client.flush()
      const [req] = await c.requests('segment')
      assert.equal(req.body.batch[0].anonymousId, '7c9e6679-7425-40de-944b-e07fc1f90ae7')
    })
  })

  test(`${label}: an id from options.anonymousId wins over the cookie, which is reset to it`, async () => {
    const handOff = '0f8fad5b-d9cb-469f-a165-70867728950e'
    await withApp(expressLib, (app, client) => app.use(tracklane.express({ client, cookie: 'dd_anonymous_id', anonymousId: (req) => req.query.dd_anon_id })), async (base, client) => {
      const res = await fetch(`${base}/lead?dd_anon_id=${handOff}`, { method: 'POST', headers: { cookie: 'dd_anonymous_id=7c9e6679-7425-40de-944b-e07fc1f90ae7' } })
      assert.equal((await res.json()).anonymousId, handOff)
      assert.ok(res.headers.get('set-cookie').startsWith(`dd_anonymous_id=${handOff}`))
      // An unusable id (empty, control characters) is ignored: the cookie's id is kept.
      const kept = await fetch(`${base}/lead?dd_anon_id=%0A`, { method: 'POST', headers: { cookie: 'dd_anonymous_id=7c9e6679-7425-40de-944b-e07fc1f90ae7' } })
      assert.equal((await kept.json()).anonymousId, '7c9e6679-7425-40de-944b-e07fc1f90ae7')
      assert.equal(kept.headers.get('set-cookie'), null)
      await client.flush()
      const ids = (await c.requests('segment')).flatMap((r) => r.body.batch.map((m) => m.anonymousId))
      assert.deepEqual(ids.sort(), [handOff, '7c9e6679-7425-40de-944b-e07fc1f90ae7'].sort())
    })
  })

  test(`${label}: cookie: false sets no cookie and takes the id from options.anonymousId`, async () => {
    await withApp(expressLib, (app, client) => app.use(tracklane.express({ client, cookie: false, anonymousId: (req) => req.get('x-session-visitor') })), async (base) => {
      const res = await fetch(`${base}/lead`, { method: 'POST', headers: { 'x-session-visitor': 'session-visitor-1' } })
      assert.equal((await res.json()).anonymousId, 'session-visitor-1')
      assert.equal(res.headers.get('set-cookie'), null)
      const fresh = await fetch(`${base}/lead`, { method: 'POST' })
      assert.match((await fresh.json()).anonymousId, /^[0-9a-f-]{36}$/)
      assert.equal(fresh.headers.get('set-cookie'), null)
    })
  })

  test(`${label}: respects trust proxy for ip and protocol`, async () => {
    await withApp(expressLib, (app, client) => { app.set('trust proxy', true); app.use(tracklane.express({ client })) }, async (base, client) => {
      await fetch(`${base}/lead`, { method: 'POST', headers: { 'x-forwarded-for': '84.14.132.114', 'x-forwarded-proto': 'https' } })
      await client.flush()
      const [req] = await c.requests('segment')
      const m = req.body.batch[0]
      assert.equal(m.context.ip, '84.14.132.114')
      assert.ok(m.context.page.url.startsWith('https://'), m.context.page.url)
    })
  })
}

test('works on a plain http server without res.cookie (Set-Cookie header)', async () => {
  const client = new Client(fastOptions([destination(c, 'segment')]))
  const mw = tracklane.express({ client })
  const headers = {}
  const req = { headers: { host: 'example.com' }, url: '/x', socket: { remoteAddress: '10.0.0.1' } }
  const res = { getHeader: (n) => headers[n.toLowerCase()], setHeader: (n, v) => { headers[n.toLowerCase()] = v } }
  await new Promise((resolve) => mw(req, res, resolve))
  assert.match(headers['set-cookie'][0], new RegExp(`^tracklane_id=${req.tracklane.anonymousId}; Max-Age=31536000; Path=/; HttpOnly; SameSite=Lax$`))
  assert.equal(req.tracklane.context.url, 'http://example.com/x')
  await client.close()
})
