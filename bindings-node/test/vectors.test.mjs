// The shared vectors (tests/vectors/, format in its README), run through a real Client and
// the local collector: encode vectors compare what the collector received, rule vectors the
// error code and field, config vectors the config error.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { Client } from '../js/index.mjs'
import { startCollector, root } from './support.mjs'

const dir = path.join(root, 'tests/vectors')
const vectors = readdirSync(dir).filter((f) => f.endsWith('.json')).sort()
  .flatMap((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')))

let c
before(async () => {
  // Vectors must not pick up options from the environment.
  for (const key of Object.keys(process.env)) if (key.startsWith('TRACKLANE_') && key !== 'TRACKLANE_COLLECTOR_BIN') delete process.env[key]
  c = await startCollector()
})
after(() => c.stop())

/** The collector's address in place of the production one; Segment lives under /segment. */
function local (url, kind) {
  const u = new URL(url)
  const prefix = kind === 'segment' ? '/segment' : ''
  return `${c.url}${prefix}${u.pathname === '/' ? '' : u.pathname}${u.search}`
}

function localDestination (destination) {
  const d = { ...destination }
  for (const key of ['base_url', 'baseUrl', 'endpoint_url', 'endpointUrl']) {
    if (typeof d[key] === 'string') d[key] = local(d[key], d.type)
  }
  return d
}

function toCall ({ kind, ...call }) {
  const out = {}
  for (const [k, v] of Object.entries(call)) if (v !== null) out[k] = v
  return [kind, out]
}

function fill (call, entries = []) {
  const copy = structuredClone(call)
  for (const { path: p, text, count } of entries) {
    let node = copy
    for (const key of p.slice(0, -1)) node = node[key] ??= {}
    node[p[p.length - 1]] = text.repeat(count)
  }
  return copy
}

function withoutEmptyObjects (value) {
  if (Array.isArray(value)) return value.map(withoutEmptyObjects)
  if (value && typeof value === 'object') {
    const out = {}
    for (const [k, v] of Object.entries(value)) {
      const cleaned = withoutEmptyObjects(v)
      if (cleaned && typeof cleaned === 'object' && !Array.isArray(cleaned) && Object.keys(cleaned).length === 0) continue
      out[k] = cleaned
    }
    return out
  }
  return value
}

function comparable (body, ignore = []) {
  let b = body
  if (b && typeof b === 'object' && !Array.isArray(b)) {
    b = { ...b }
    for (const key of ignore) delete b[key]
  }
  return withoutEmptyObjects(b)
}

for (const v of vectors) {
  if (v.expect) {
    test(`encode: ${v.name}`, async () => {
      await c.reset()
      const client = new Client({ destinations: [localDestination(v.destination)], flushIntervalMs: 60000, strict: true })
      try {
        for (const call of v.calls) {
          const [kind, args] = toCall(call)
          assert.equal(client[kind](args).status, 'queued')
        }
        await client.flush(10000)
      } finally {
        await client.close(100)
      }
      const requests = await c.requests()
      assert.equal(requests.length, 1, `expected one request, got ${requests.length}`)
      const [req] = requests
      const e = v.expect
      assert.equal(req.method, e.method)
      const expectedUrl = new URL(local(e.url, v.destination.type))
      assert.equal(req.path + (req.query ? `?${req.query}` : ''), expectedUrl.pathname + expectedUrl.search)
      for (const [name, value] of Object.entries(e.headers || {})) {
        assert.equal(req.headers[name.toLowerCase()], value === null ? undefined : value, `header ${name}`)
      }
      assert.deepEqual(comparable(req.body, v.ignore), comparable(e.body, v.ignore))
    })
  } else if (v.error || v.skipped) {
    test(`rule: ${v.name}`, async () => {
      const client = new Client({ destinations: [v.destination], strict: true, flushIntervalMs: 60000 })
      try {
        const [kind, args] = toCall(fill(v.call, v.fill))
        if (v.error) {
          assert.throws(() => client[kind](args), (err) => {
            assert.equal(err.code, v.error.code, err.message)
            assert.equal(err.field, v.error.field, err.message)
            return true
          })
        } else {
          assert.equal(client[kind](args).status, 'skipped')
        }
      } finally {
        await client.close(100)
      }
    })
  } else if (v.config_error) {
    test(`config: ${v.name}`, () => {
      assert.throws(() => new Client({ destinations: [v.destination] }), (err) => {
        assert.equal(err.code, v.config_error.code, err.message)
        assert.equal(err.field, v.config_error.field, err.message)
        return true
      })
    })
  }
}
