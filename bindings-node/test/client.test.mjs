import { test, before, after, beforeEach } from 'node:test'
import assert from 'node:assert/strict'
import { Client } from '../js/index.mjs'
import { startCollector, destination, fastOptions, event, KINDS, VISITOR } from './support.mjs'

let c
before(async () => { c = await startCollector() })
after(() => c.stop())
beforeEach(async () => { await c.reset(); await c.clearFaults() })

for (const kind of KINDS) {
  test(`delivers a track call to ${kind} end to end`, async () => {
    const client = new Client(fastOptions([destination(c, kind)]))
    const outcome = client.track(event('signup', 1))
    assert.equal(outcome.status, 'queued')
    assert.deepEqual(outcome.destinations, [kind])
    assert.deepEqual(outcome.errors, [])
    const report = await client.close(10000)
    assert.equal(report.delivered, 1)
    assert.equal(report.failed, 0)
    assert.equal(report.timedOut, false)
    const stats = await c.stats()
    assert.equal(stats[kind].events, 1)
    assert.equal(stats[kind].accepted_requests, 1)
  })
}

test('track returns the outcome synchronously with the message id', () => {
  const client = new Client(fastOptions([destination(c, 'segment')]))
  const outcome = client.track({ event: 'signup', anonymousId: VISITOR, messageId: 'evt_1' })
  assert.deepEqual(outcome, { status: 'queued', messageId: 'evt_1', destinations: ['segment'], errors: [] })
  return client.close()
})

test('identify, alias, page and group reach a Segment-spec collector', async () => {
  const client = new Client(fastOptions([destination(c, 'segment')]))
  assert.equal(client.identify({ userId: 'u1', traits: { email: 'a@b.c' } }).status, 'queued')
  assert.equal(client.alias({ previousId: VISITOR, userId: 'u1' }).status, 'queued')
  assert.equal(client.page({ name: 'Home', userId: 'u1', properties: { path: '/' } }).status, 'queued')
  assert.equal(client.group({ groupId: 'g1', userId: 'u1', traits: { name: 'Acme' } }).status, 'queued')
  const report = await client.close()
  assert.equal(report.delivered, 4)
  const [req] = await c.requests('segment')
  const types = req.body.batch.map((m) => m.type)
  assert.deepEqual(types.sort(), ['alias', 'group', 'identify', 'page'])
})

test('a duplicate message id is dropped before it is queued', async () => {
  const client = new Client(fastOptions([destination(c, 'segment')]))
  assert.equal(client.track({ ...event('paid'), messageId: 'evt_stripe_1' }).status, 'queued')
  const again = client.track({ ...event('paid'), messageId: 'evt_stripe_1' })
  assert.equal(again.status, 'duplicate')
  assert.equal(again.messageId, 'evt_stripe_1')
  const report = await client.close()
  assert.equal(report.delivered, 1)
  assert.equal(report.duplicates, 1)
  assert.equal((await c.stats()).segment.events, 1)
})

test('rule violations are reported in the outcome by default', async () => {
  const client = new Client(fastOptions([destination(c, 'webanalyzer'), destination(c, 'segment')]))
  const props = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, 'v']))
  const outcome = client.track({ event: 'big', anonymousId: VISITOR, properties: props })
  assert.equal(outcome.status, 'queued')
  assert.deepEqual(outcome.destinations, ['segment'])
  assert.equal(outcome.errors.length, 1)
  assert.equal(outcome.errors[0].code, 'webanalyzer.payload.too_many_keys')
  assert.equal(outcome.errors[0].destination, 'webanalyzer')
  assert.equal(outcome.errors[0].field, 'properties')
  await client.close()
})

test('strict mode throws rule violations as errors with code, destination and field', async () => {
  const client = new Client(fastOptions([destination(c, 'webanalyzer')], { strict: true }))
  const props = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, 'v']))
  assert.throws(() => client.track({ event: 'big', properties: props }), (err) => {
    assert.ok(err instanceof Error)
    assert.equal(err.code, 'webanalyzer.payload.too_many_keys')
    assert.equal(err.destination, 'webanalyzer')
    assert.equal(err.field, 'properties')
    return true
  })
  await client.close()
})

test('a missing event name is rejected with message.event.required', async () => {
  const client = new Client(fastOptions([destination(c, 'segment')]))
  const outcome = client.track({ event: '', anonymousId: VISITOR })
  assert.equal(outcome.status, 'rejected')
  assert.equal(outcome.errors[0].code, 'message.event.required')
  assert.equal(outcome.errors[0].field, 'event')
  await client.close()
})

test('calls after close throw client.closed', async () => {
  const client = new Client(fastOptions([destination(c, 'segment')]))
  await client.close()
  assert.equal(client.closed, true)
  assert.throws(() => client.track(event('late')), { code: 'client.closed' })
})

test('bad configuration throws with a config code', () => {
  assert.throws(() => new Client({ destinations: [] }), { code: 'config.client.destinations' })
  assert.throws(() => new Client({ destinations: [destination(c, 'segment')], flushIntervalMs: 'soon' }), { code: 'config.client.flush_interval_ms' })
  assert.throws(() => new Client({ destinations: [{ type: 'nope' }] }), (err) => err.code.startsWith('config.'))
  assert.throws(() => new Client('x'), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => new Client({ destinations: [destination(c, 'segment')], onError: 5 }), { name: 'TypeError' })
})

test('options come from TRACKLANE_* environment variables', async () => {
  process.env.TRACKLANE_DESTINATIONS = 'segment'
  process.env.TRACKLANE_SEGMENT_WRITE_KEY = 'test-segment-key'
  process.env.TRACKLANE_SEGMENT_BASE_URL = `${c.url}/segment`
  try {
    const client = new Client()
    assert.deepEqual(client.destinations, ['segment'])
    client.track(event('from_env'))
    assert.equal((await client.close()).delivered, 1)
  } finally {
    delete process.env.TRACKLANE_DESTINATIONS
    delete process.env.TRACKLANE_SEGMENT_WRITE_KEY
    delete process.env.TRACKLANE_SEGMENT_BASE_URL
  }
})

test('stats counts calls by outcome with camelCase keys', async () => {
  const client = new Client(fastOptions([destination(c, 'segment')]))
  client.track({ ...event('a'), messageId: 'm1' })
  client.track({ ...event('a'), messageId: 'm1' })
  await client.flush()
  const stats = client.stats()
  assert.equal(stats.calls, 2)
  assert.equal(stats.duplicates, 1)
  assert.equal(stats.delivered, 1)
  assert.equal(typeof stats.heldEvents, 'number')
  assert.equal(stats.destinations[0].name, 'segment')
  assert.equal(typeof stats.destinations[0].bytesSent, 'number')
  await client.close()
})

test('onDelivery is called with camelCase deliveries', async () => {
  const deliveries = []
  const client = new Client(fastOptions([destination(c, 'segment')], { onDelivery: (d) => deliveries.push(d) }))
  const { messageId } = client.track(event('delivered'))
  await client.flush()
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(deliveries.length, 1)
  assert.equal(deliveries[0].destination, 'segment')
  assert.deepEqual(deliveries[0].messageIds, [messageId])
  assert.equal(deliveries[0].status, 200)
  await client.close()
})

test('retries a 500 outage and delivers once the collector recovers', async () => {
  await c.faults({ destination: 'segment', mode: 'status', status: 500, count: 3 })
  const client = new Client(fastOptions([destination(c, 'segment')]))
  client.track(event('outage'))
  const report = await client.close(15000)
  assert.equal(report.delivered, 1)
  const stats = await c.stats()
  assert.ok(stats.segment.requests >= 4)
  assert.equal(stats.segment.unique_ids, 1)
  assert.ok(client.stats().destinations[0].retries >= 3)
})

test('honours 429 with Retry-After and delivers after it', async () => {
  await c.faults({ destination: 'segment', mode: 'status', status: 429, retry_after: '1', count: 1 })
  const client = new Client(fastOptions([destination(c, 'segment')]))
  client.track(event('limited'))
  const report = await client.close(15000)
  assert.equal(report.delivered, 1)
  assert.ok(client.stats().destinations[0].rateLimited >= 1)
})

test('a 401 is not retried and reaches onError', async () => {
  const failures = []
  const client = new Client(fastOptions([{ ...destination(c, 'segment'), writeKey: 'wrong-key' }], { onError: (f) => failures.push(...f) }))
  const { messageId } = client.track(event('unauthorised'))
  const report = await client.close(10000)
  assert.equal(report.failed, 1)
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(failures.length, 1)
  assert.equal(failures[0].messageId, messageId)
  assert.equal(failures[0].status, 401)
})

test('a throwing onError callback becomes a warning, not a crash', async () => {
  const warnings = []
  const onWarning = (w) => warnings.push(w)
  process.on('warning', onWarning)
  const client = new Client(fastOptions([{ ...destination(c, 'segment'), writeKey: 'wrong-key' }], { onError: () => { throw new Error('boom') } }))
  client.track(event('x'))
  await client.close()
  await new Promise((resolve) => setTimeout(resolve, 50))
  process.off('warning', onWarning)
  assert.ok(warnings.some((w) => w.code === 'TRACKLANE_CALLBACK_ERROR'))
})
