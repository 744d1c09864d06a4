import { test, before, after, beforeEach } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { Worker } from 'node:worker_threads'
import { fileURLToPath } from 'node:url'
import { startCollector, destination } from './support.mjs'

const entry = fileURLToPath(new URL('../js/index.js', import.meta.url))

let c
before(async () => { c = await startCollector() })
after(() => c.stop())
beforeEach(async () => { await c.reset() })

test('a process that exits without close() still delivers through beforeExit', async () => {
  // A long flush interval: without the beforeExit flush nothing would be sent before exit.
  const options = { destinations: [destination(c, 'segment')], flushIntervalMs: 60000 }
  const script = `
    const { Client } = require(${JSON.stringify(entry)})
    const client = new Client(${JSON.stringify(options)})
    for (let i = 0; i < 3; i++) client.track({ event: 'exit_flush', anonymousId: 'cookieless', properties: { i } })
  `
  const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30000 })
  assert.equal(child.status, 0, child.stderr)
  const stats = await c.stats()
  assert.equal(stats.segment.events, 3)
})

test('a client works inside worker_threads', async () => {
  const options = { destinations: [destination(c, 'segment')], flushIntervalMs: 200 }
  const code = `
    const { parentPort, workerData } = require('node:worker_threads')
    const { Client } = require(workerData.entry)
    const client = new Client(workerData.options)
    const outcomes = []
    for (let i = 0; i < 5; i++) outcomes.push(client.track({ event: 'from_worker', anonymousId: 'cookieless', properties: { i } }).status)
    client.close().then((report) => parentPort.postMessage({ outcomes, delivered: report.delivered }))
  `
  const results = await Promise.all([0, 1].map(() => new Promise((resolve, reject) => {
    const worker = new Worker(code, { eval: true, workerData: { entry, options } })
    worker.once('message', resolve)
    worker.once('error', reject)
  })))
  for (const r of results) {
    assert.deepEqual(r.outcomes, Array(5).fill('queued'))
    assert.equal(r.delivered, 5)
  }
  assert.equal((await c.stats()).segment.events, 10)
})

test('onError/onDelivery callbacks do not keep the process alive', () => {
  const options = { destinations: [{ type: 'segment', writeKey: 'k', baseUrl: 'http://127.0.0.1:9/segment' }], flushIntervalMs: 60000, exitTimeoutMs: 200 }
  const script = `
    const { Client } = require(${JSON.stringify(entry)})
    new Client({ ...${JSON.stringify(options)}, onError: () => {}, onDelivery: () => {} })
  `
  const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20000 })
  assert.equal(child.status, 0, child.stderr)
  assert.equal(child.signal, null)
})
