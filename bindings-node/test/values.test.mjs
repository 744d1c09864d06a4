import { test, before, after, beforeEach } from 'node:test'
import assert from 'node:assert/strict'
import { Client } from '../js/index.mjs'
import { startCollector, destination, fastOptions, VISITOR } from './support.mjs'

let c, client
before(async () => { c = await startCollector(); client = new Client(fastOptions([destination(c, 'segment')])) })
after(async () => { await client.close(); c.stop() })
beforeEach(async () => { await c.reset() })

async function sent (properties, extra = {}) {
  const { messageId } = client.track({ event: 'values', anonymousId: VISITOR, properties, ...extra })
  await client.flush()
  const [req] = await c.requests('segment')
  return req.body.batch.find((m) => m.messageId === messageId)
}

function throwsAt (properties, code, field, name = 'TypeError') {
  assert.throws(() => client.track({ event: 'bad', anonymousId: VISITOR, properties }), (err) => {
    assert.equal(err.name, name)
    assert.equal(err.code, code)
    assert.equal(err.field, field)
    assert.ok(err.message.includes(field), err.message)
    return true
  })
}

test('plain values keep their JSON types and key order', async () => {
  const m = await sent({ s: 'x', i: 3, f: 49.99, t: true, n: null, a: [1, 'two', { three: 3 }], o: { k: 'v' } })
  assert.deepEqual(m.properties, { s: 'x', i: 3, f: 49.99, t: true, n: null, a: [1, 'two', { three: 3 }], o: { k: 'v' } })
  assert.deepEqual(Object.keys(m.properties), ['s', 'i', 'f', 't', 'n', 'a', 'o'])
})

test('Date becomes an ISO 8601 UTC string', async () => {
  const m = await sent({ at: new Date(Date.UTC(2024, 0, 15, 10, 30, 0, 123)) })
  assert.equal(m.properties.at, '2024-01-15T10:30:00.123Z')
})

test('BigInt becomes a decimal string, of any size', async () => {
  const m = await sent({ small: 12n, big: 123456789012345678901234567890n, neg: -5n })
  assert.deepEqual(m.properties, { small: '12', big: '123456789012345678901234567890', neg: '-5' })
})

test('undefined is skipped in objects and null in arrays', async () => {
  const m = await sent({ gone: undefined, kept: 1, list: [undefined, 2] })
  assert.deepEqual(m.properties, { kept: 1, list: [null, 2] })
})

test('timestamp accepts a Date, an ISO string and epoch milliseconds', async () => {
  const ms = Date.UTC(2023, 5, 1, 12, 0, 0, 0)
  for (const timestamp of [new Date(ms), '2023-06-01T12:00:00.000Z', ms]) {
    await c.reset()
    const m = await sent({}, { timestamp })
    assert.equal(m.timestamp, '2023-06-01T12:00:00.000Z')
  }
  assert.throws(() => client.track({ event: 'x', timestamp: 'yesterday' }), { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE', field: 'timestamp' })
  assert.throws(() => client.track({ event: 'x', timestamp: {} }), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
})

test('a function is refused with its path', () => {
  throwsAt({ items: [{}, {}, { price: () => 1 }] }, 'ERR_INVALID_ARG_TYPE', 'properties.items[2].price')
})

test('a symbol is refused with its path', () => {
  throwsAt({ tag: Symbol('x') }, 'ERR_INVALID_ARG_TYPE', 'properties.tag')
})

test('NaN and Infinity are refused with value.not_finite', () => {
  throwsAt({ items: [0, 1, { price: NaN }] }, 'value.not_finite', 'properties.items[2].price')
  throwsAt({ amount: Infinity }, 'value.not_finite', 'properties.amount')
  throwsAt({ amount: -Infinity }, 'value.not_finite', 'properties.amount')
})

test('a circular structure is refused with value.circular and its path', () => {
  const a = { name: 'a' }
  a.self = a
  throwsAt({ a }, 'value.circular', 'properties.a.self')
  const list = []
  list.push(list)
  throwsAt({ list }, 'value.circular', 'properties.list[0]')
})

test('nesting deeper than MAX_DEPTH is refused with value.too_deep', () => {
  let deep = 1
  for (let i = 0; i < 40; i++) deep = { d: deep }
  assert.throws(() => client.track({ event: 'x', properties: { deep } }), { code: 'value.too_deep' })
  let ok = 1
  for (let i = 0; i < 10; i++) ok = { d: ok }
  assert.equal(client.track({ event: 'x', anonymousId: VISITOR, properties: { ok } }).status, 'queued')
})

test('binary data is refused', () => {
  throwsAt({ blob: Buffer.from('x') }, 'ERR_INVALID_ARG_TYPE', 'properties.blob')
})

test('wrong argument types throw TypeError with ERR_INVALID_ARG_TYPE', () => {
  const cases = [
    [{ event: 5 }, 'event'],
    [{ event: 'x', properties: 'nope' }, 'properties'],
    [{ event: 'x', properties: [1, 2] }, 'properties'],
    [{ event: 'x', userId: 42 }, 'userId'],
    [{ event: 'x', traits: 1 }, 'traits'],
    [{ event: 'x', context: 'ctx' }, 'context']
  ]
  for (const [call, field] of cases) {
    assert.throws(() => client.track(call), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', field }, JSON.stringify(call))
  }
  assert.throws(() => client.track('signup'), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => client.track(), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
})

test('an unknown call field is refused (catches typos)', () => {
  assert.throws(() => client.track({ event: 'x', propertys: {} }), { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE', field: 'propertys' })
})

test('a context field of the wrong type names the field', () => {
  assert.throws(() => client.track({ event: 'x', context: { ip: 5 } }), { code: 'message.context.not_string', field: 'context.ip' })
})

test('context keys are read in both spellings and reach the payload', async () => {
  const m = await sent({}, { context: { ip: '1.2.3.4', userAgent: 'UA', page: { url: 'https://e.com/p' }, device: 'phone' } })
  assert.equal(m.context.ip, '1.2.3.4')
  assert.equal(m.context.userAgent, 'UA')
  assert.equal(m.context.device, 'phone')
})
