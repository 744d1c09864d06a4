// The two ways a call reaches the core convert alike. The fast path (camelCase fields only:
// the JS layer reads the call object and spreads `properties`/`traits`/`context` into one
// native call) and the object path (the native side reads the call object; taken for a
// snake_case or unknown key, and again to raise the error of a call that fails to convert)
// must send the same bodies and throw the same errors. Each test makes the same call both
// ways: `anonymousId` keeps it on the fast path, `anonymous_id` sends it down the object path.
import { test, before, after, beforeEach } from 'node:test'
import assert from 'node:assert/strict'
import { Client } from '../js/index.mjs'
import { startCollector, destination, fastOptions, VISITOR } from './support.mjs'

let c, client
before(async () => { c = await startCollector(); client = new Client(fastOptions([destination(c, 'segment')])) })
after(async () => { await client.close(); c.stop() })
beforeEach(async () => { await c.reset() })

const fast = (fields) => ({ event: 'fast', anonymousId: VISITOR, ...fields })
const objectPath = (fields) => ({ event: 'slow', anonymous_id: VISITOR, ...fields })

/** The messages the collector stored for `fields` sent both ways. */
async function sentBothWays (fields, method = 'track') {
  const calls = method === 'track' ? [fast(fields), objectPath(fields)] : [{ anonymousId: VISITOR, ...fields }, { anonymous_id: VISITOR, ...fields }]
  const ids = calls.map((call) => client[method](call).messageId)
  await client.flush()
  const batch = (await c.requests('segment')).flatMap((r) => r.body.batch)
  return ids.map((id) => {
    const m = batch.find((b) => b.messageId === id)
    assert.ok(m, `message ${id} was not delivered`)
    return m
  })
}

async function sameBodies (fields, method) {
  const [a, b] = await sentBothWays(fields, method)
  assert.deepEqual(a.properties, b.properties)
  assert.deepEqual(a.traits, b.traits)
  assert.deepEqual(a.context, b.context)
  assert.equal(a.userId, b.userId)
  if (fields.timestamp !== undefined) assert.equal(a.timestamp, b.timestamp)
  return a
}

function thrown (fn) {
  try {
    fn()
  } catch (err) {
    return { name: err.name, code: err.code, field: err.field, message: err.message }
  }
  assert.fail('did not throw')
}

/** Both ways throw the same error; returns it. */
function sameError (fields) {
  const calls = client.stats().calls
  const a = thrown(() => client.track(fast(fields)))
  const b = thrown(() => client.track(objectPath(fields)))
  assert.deepEqual(a, b)
  assert.equal(client.stats().calls, calls, 'a call that fails to convert reaches the core')
  return a
}

test('nested objects and arrays, null and booleans arrive alike', async () => {
  const m = await sameBodies({ properties: { o: { a: [1, [2, [3]], { b: null }], t: true }, list: [], empty: {}, n: null, f: false } })
  assert.deepEqual(m.properties, { o: { a: [1, [2, [3]], { b: null }], t: true }, list: [], empty: {}, n: null, f: false })
})

test('Date and BigInt at any depth arrive alike', async () => {
  const at = new Date(Date.UTC(2024, 0, 15, 10, 30, 0, 123))
  const m = await sameBodies({ properties: { at, nested: { at, list: [at, 2n ** 70n] }, n: -12n } })
  assert.deepEqual(m.properties, {
    at: '2024-01-15T10:30:00.123Z',
    nested: { at: '2024-01-15T10:30:00.123Z', list: ['2024-01-15T10:30:00.123Z', '1180591620717411303424'] },
    n: '-12'
  })
})

test('undefined is left out of objects and null in arrays, at the top level too', async () => {
  const m = await sameBodies({ properties: { gone: undefined, kept: 1, list: [undefined, 2], o: { gone: undefined } } })
  assert.deepEqual(m.properties, { kept: 1, list: [null, 2], o: {} })
})

test('numbers keep integer or float form alike', async () => {
  const m = await sameBodies({ properties: { zero: -0, i: -7, max: Number.MAX_SAFE_INTEGER, over: 2 ** 53, big: 1e21, f: 0.1, tiny: 5e-324 } })
  assert.equal(m.properties.zero, 0)
  assert.equal(m.properties.max, Number.MAX_SAFE_INTEGER)
  assert.equal(m.properties.f, 0.1)
})

test('key order, integer-like keys and symbol keys are treated alike', async () => {
  const m = await sameBodies({ properties: { b: 1, 2: 'two', a: 2, 1: 'one', [Symbol('skipped')]: 3 } })
  assert.deepEqual(Object.keys(m.properties), ['1', '2', 'b', 'a'])
})

test('non-ASCII, lone surrogates and long strings arrive alike', async () => {
  const huge = 'x'.repeat(20_000) + 'é'
  const m = await sameBodies({ properties: { 'ключ 🔑': 'значение ✓', lone: 'a\uD800b', huge }, userId: 'ユーザー' })
  assert.equal(m.properties['ключ 🔑'], 'значение ✓')
  assert.equal(m.properties.lone, 'a\uFFFDb')
  assert.equal(m.properties.huge, huge)
})

test('strings around the length read through a stack buffer arrive whole', async () => {
  // Fewer than 127 UTF-16 units are read through a stack buffer, longer ones as UTF-8.
  const properties = {}
  for (const n of [125, 126, 127, 128, 129]) {
    properties[`ascii${n}`] = 'a'.repeat(n)
    properties[`latin${n}`] = 'é'.repeat(n)
    properties[`pair${n}`] = 'x'.repeat(n - 2) + '😀' // a surrogate pair ending at unit n
    properties[`wide${n}`] = '中'.repeat(n)
  }
  properties['k'.repeat(130)] = 'a long key'
  const m = await sameBodies({ properties, userId: 'u'.repeat(126) + 'ü' })
  assert.deepEqual(m.properties, properties)
  assert.equal(m.userId, 'u'.repeat(126) + 'ü')
})

test('maps with more keys than are spread out arrive alike and in order', async () => {
  const properties = Object.fromEntries(Array.from({ length: 70 }, (_, i) => [`k${i}`, i]))
  const m = await sameBodies({ properties, context: { ...properties, ip: '1.2.3.4' } })
  assert.deepEqual(m.properties, properties)
})

test('maps of every size around the ones passed as arguments arrive alike and in order', async () => {
  // Up to 8 keys in all cross as arguments; 9 to 32 per map are spread from an array.
  for (const size of [0, 1, 7, 8, 9, 20, 32, 33]) {
    await c.reset()
    const properties = Object.fromEntries(Array.from({ length: size }, (_, i) => [`k${i}`, i]))
    const context = size % 2 === 0 ? { ip: '1.2.3.4', locale: 'en' } : undefined
    const m = await sameBodies({ properties, context })
    assert.deepEqual(m.properties ?? {}, properties, `${size} keys`)
  }
})

test('a getter that makes a call of its own while a call is read leaves both whole', async () => {
  let inner
  const properties = {
    a: 1,
    get b () {
      inner = client.track(fast({ event: 'inner', properties: { x: 'x', y: 'y' } }))
      return 2
    },
    c: 3
  }
  const outer = client.track(fast({ properties, context: { ip: '1.2.3.4' } }))
  const later = client.track(fast({ properties: { z: 26 } }))
  await client.flush()
  const batch = (await c.requests('segment')).flatMap((r) => r.body.batch)
  const sent = (outcome) => batch.find((b) => b.messageId === outcome.messageId)
  assert.deepEqual(sent(outer).properties, { a: 1, b: 2, c: 3 })
  assert.equal(sent(outer).context.ip, '1.2.3.4')
  assert.deepEqual(sent(inner).properties, { x: 'x', y: 'y' })
  assert.deepEqual(sent(later).properties, { z: 26 })
})

test('a getter that deletes a key not yet read: both paths leave it out', async () => {
  const make = () => ({ a: 1, get b () { delete this.c; return 2 }, c: 3 })
  const calls = [fast({ properties: make(), context: { ip: '1.2.3.4' } }), objectPath({ properties: make(), context: { ip: '1.2.3.4' } })]
  const ids = calls.map((call) => client.track(call).messageId)
  await client.flush()
  const batch = (await c.requests('segment')).flatMap((r) => r.body.batch)
  for (const id of ids) {
    const m = batch.find((b) => b.messageId === id)
    assert.deepEqual(m.properties, { a: 1, b: 2 })
    assert.equal(m.context.ip, '1.2.3.4')
  }
})

test('a call whose getter throws leaves the next call whole', async () => {
  assert.throws(() => client.track(fast({ properties: { a: 1, get b () { throw new Error('no') } } })), /no/)
  const outcome = client.track(fast({ properties: { z: 26 } }))
  await client.flush()
  const batch = (await c.requests('segment')).flatMap((r) => r.body.batch)
  assert.deepEqual(batch.find((b) => b.messageId === outcome.messageId).properties, { z: 26 })
})

test('objects that are not plain objects are read by their own enumerable keys alike', async () => {
  class Order { constructor () { this.id = 'o1' } get total () { return 5 } }
  const bare = Object.assign(Object.create(null), { a: 1 })
  for (const properties of [new Order(), bare, new Map([['k', 'v']]), Buffer.from('hi'), Object.create({ inherited: 1 })]) {
    await c.reset()
    await sameBodies({ properties })
  }
})

test('context and traits are spread out and converted alike', async () => {
  const context = { ip: '84.14.132.114', userAgent: 'UA', page: { url: 'https://e.com/p', referrer: 'https://r.com/' }, campaign: { name: 'spring' }, device: 'phone' }
  const m = await sameBodies({ context })
  assert.equal(m.context.ip, '84.14.132.114')
  assert.equal(m.context.device, 'phone')
  await c.reset()
  await sameBodies({ userId: 'u1', traits: { email: 'a@b.c', plan: { tier: 2 } }, context }, 'identify')
})

test('timestamps in each form arrive alike', async () => {
  for (const timestamp of [new Date(Date.UTC(2023, 5, 1)), '2023-06-01T12:00:00.000Z', Date.UTC(2023, 5, 1, 12)]) {
    await c.reset()
    await sameBodies({ timestamp })
  }
})

test('a function, a symbol, NaN and Infinity are refused alike, with their path', () => {
  assert.equal(sameError({ properties: { items: [{}, { price: () => 1 }] } }).field, 'properties.items[1].price')
  assert.equal(sameError({ properties: { fn: function named () {} } }).code, 'ERR_INVALID_ARG_TYPE')
  assert.equal(sameError({ properties: { tag: Symbol('x') } }).field, 'properties.tag')
  assert.equal(sameError({ properties: { amount: NaN } }).code, 'value.not_finite')
  assert.equal(sameError({ context: { extra: { n: -Infinity } } }).field, 'context.extra.n')
})

test('a circular structure is refused alike, through the top-level object too', () => {
  const properties = { name: 'top' }
  properties.self = properties
  const top = sameError({ properties })
  assert.equal(top.code, 'value.circular')
  assert.equal(top.field, 'properties.self')
  const list = [1]
  list.push(list)
  assert.equal(sameError({ properties: { list } }).field, 'properties.list[1]')
  const traits = {}
  traits.nested = { back: traits }
  assert.equal(sameError({ traits }).field, 'traits.nested.back')
})

test('nesting is limited alike', async () => {
  const nest = (levels) => { let v = 1; for (let i = 0; i < levels; i++) v = { d: v }; return v }
  assert.equal(sameError({ properties: { deep: nest(40) } }).code, 'value.too_deep')
  await sameBodies({ properties: { deep: nest(31) } })
})

test('binary data nested in a map is refused alike', () => {
  assert.equal(sameError({ properties: { blob: new Uint8Array(2) } }).field, 'properties.blob')
  assert.equal(sameError({ properties: { buf: new ArrayBuffer(2) } }).field, 'properties.buf')
})

test('properties that are not an object are refused alike', () => {
  for (const properties of ['x', 5, true, 1n, [1], new Date(), () => {}]) {
    assert.equal(sameError({ properties }).code, 'ERR_INVALID_ARG_TYPE', String(properties))
  }
})

test('the error names the first bad field in the call object\'s key order', () => {
  assert.equal(thrown(() => client.track({ event: 'x', userId: 5, sessionId: 6 })).field, 'userId')
  assert.equal(thrown(() => client.track({ event: 'x', sessionId: 6, userId: 5 })).field, 'sessionId')
  assert.equal(thrown(() => client.track({ properties: { a: NaN }, event: 5 })).field, 'properties.a')
  assert.equal(thrown(() => client.page({ name: 7 })).field, 'name')
})

test('a call with both event and name takes the later one', async () => {
  const { messageId } = client.page({ event: 'first', name: 'second', anonymousId: VISITOR })
  await client.flush()
  const [req] = await c.requests('segment')
  assert.equal(req.body.batch.find((m) => m.messageId === messageId).name, 'second')
})

test('only own fields of a call object are read, each once', async () => {
  let reads = 0
  const properties = { get plan () { reads++; return 'pro' } }
  const call = Object.create({ userId: 'inherited' })
  Object.assign(call, { event: 'own', anonymousId: VISITOR, properties })
  const { messageId } = client.track(call)
  assert.equal(reads, 1)
  client.track({ event: 'slow', anonymous_id: VISITOR, properties })
  assert.equal(reads, 2)
  await client.flush()
  const [req] = await c.requests('segment')
  const m = req.body.batch.find((b) => b.messageId === messageId)
  assert.equal(m.userId, undefined)
  assert.deepEqual(m.properties, { plan: 'pro' })
})

test('a getter that throws propagates and nothing is queued', () => {
  const calls = client.stats().calls
  const properties = { get bad () { throw new Error('getter failed') } }
  assert.throws(() => client.track({ event: 'x', anonymousId: VISITOR, properties }), /getter failed/)
  assert.equal(client.stats().calls, calls)
})

test('an outcome\'s arrays are frozen: one outcome cannot change another', async () => {
  const a = client.track(fast({}))
  assert.throws(() => a.destinations.push('mutated'), TypeError)
  assert.throws(() => a.errors.push('mutated'), TypeError)
  const b = client.track(fast({}))
  assert.deepEqual(b, { status: 'queued', messageId: b.messageId, destinations: ['segment'], errors: [] })
  // The outcomes built from the native arrays (a destination refused it) are frozen too.
  const wa = new Client(fastOptions([destination(c, 'webanalyzer'), destination(c, 'segment')]))
  const props = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, 'v']))
  for (const call of [fast({ properties: props }), objectPath({ properties: props })]) {
    const partial = wa.track(call)
    assert.equal(partial.errors.length, 1)
    assert.ok(Object.isFrozen(partial.destinations) && Object.isFrozen(partial.errors))
  }
  assert.ok(Object.isFrozen(wa.track(fast({})).errors))
  await wa.close()
})

test('outcomes other than queued-for-all come back whole from both paths', async () => {
  const wa = new Client(fastOptions([destination(c, 'webanalyzer'), destination(c, 'segment')]))
  const props = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, 'v']))
  for (const call of [fast({ properties: props }), objectPath({ properties: props })]) {
    const outcome = wa.track(call)
    assert.equal(outcome.status, 'queued')
    assert.deepEqual(outcome.destinations, ['segment'])
    assert.equal(outcome.errors[0].code, 'webanalyzer.payload.too_many_keys')
  }
  const again = fast({ messageId: 'evt_twice' })
  assert.equal(wa.track(again).status, 'queued')
  assert.deepEqual(wa.track(again), { status: 'duplicate', messageId: 'evt_twice', destinations: [], errors: [] })
  assert.deepEqual(wa.track(objectPath({ messageId: 'evt_twice' })), { status: 'duplicate', messageId: 'evt_twice', destinations: [], errors: [] })
  await wa.close()
})
