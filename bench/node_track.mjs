// Benchmark (not a test): the cost of `track()` on the event loop, 200,000 events end to end
// to a Segment-spec destination on the local collector, and peak RSS.
// Run: make bench-node (or node bench/node_track.mjs after `npm install` and `make collector`).
//
// Three processes. This one starts the collector and reads its counts; the measured one
// (BENCH_ROLE=client) loads tracklane and nothing else of this repository, so its peak RSS is
// Node's, the loops' and tracklane's, not the test support's (spawning and querying the
// collector cost that process 8 MB). For scale, a third runs the same two loops with a client
// that does nothing (BENCH_ROLE=baseline): Node itself and the loops' own objects (V8's young
// generation grows with 200,000 property objects) without tracklane.
import { performance } from 'node:perf_hooks'
import { readFileSync } from 'node:fs'

const CALLS = Number(process.env.BENCH_CALLS || 200_000)
const END_TO_END = Number(process.env.BENCH_EVENTS || 200_000)
const anonymousId = '550e8400-e29b-41d4-a716-446655440000'
const role = process.env.BENCH_ROLE

/**
 * CPU time of the calling (main) thread in ns, or undefined off Linux. Wall time also counts
 * the time the thread waited for a core, which on a busy machine (the collector and the
 * delivery threads run alongside) can dwarf the time spent in the calls.
 */
function threadCpuNs () {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0])
  } catch {
    return undefined
  }
}

const peakRssMb = () => process.resourceUsage().maxRSS / 1024

if (role === 'baseline') {
  // The two loops below with a client that only keeps its last argument (so the objects are
  // built: an argument that went nowhere could be optimized away).
  let last
  const client = { track: (call) => { last = call } }
  const props = { plan: 'pro', amount: 49.99, currency: 'USD' }
  for (let i = 0; i < 10_000 + CALLS; i++) client.track({ event: 'purchase', anonymousId, properties: props })
  for (let i = 0; i < END_TO_END; i++) {
    client.track({ event: 'purchase', anonymousId, properties: { order_id: `ORD-${i}`, amount: 49.99, currency: 'USD' } })
  }
  console.log(JSON.stringify({ peakRssMb: peakRssMb(), last: last !== undefined }))
} else if (role === 'client') {
  const { Client } = await import('../bindings-node/js/index.mjs')
  const { destination } = await import('../bindings-node/test/destinations.mjs')
  const segment = destination({ url: process.env.BENCH_COLLECTOR_URL }, 'segment')
  const result = {}
  // 1. Time inside track(): 3-key properties, one destination, nothing else on the loop.
  {
    const client = new Client({ destinations: [segment] })
    const props = { plan: 'pro', amount: 49.99, currency: 'USD' }
    for (let i = 0; i < 10_000; i++) client.track({ event: 'warmup', anonymousId, properties: props })
    const cpuStart = threadCpuNs()
    const start = performance.now()
    for (let i = 0; i < CALLS; i++) client.track({ event: 'purchase', anonymousId, properties: props })
    result.us = ((performance.now() - start) * 1000) / CALLS
    result.cpuUs = (threadCpuNs() - cpuStart) / 1000 / CALLS
    await client.close(60_000)
    result.firstDelivered = client.stats().delivered
  }
  // 2. End to end: track, flush, count what was delivered.
  {
    const client = new Client({ destinations: [segment] })
    const start = performance.now()
    for (let i = 0; i < END_TO_END; i++) {
      client.track({ event: 'purchase', anonymousId, properties: { order_id: `ORD-${i}`, amount: 49.99, currency: 'USD' } })
    }
    const tracked = performance.now()
    const report = await client.flush(60_000)
    result.seconds = (performance.now() - start) / 1000
    result.trackSeconds = (tracked - start) / 1000
    // The flush report counts what it waited for; stats() what this client delivered in all.
    result.delivered = client.stats().delivered
    result.flushComplete = report.pending === 0
    await client.close(1000)
  }
  result.peakRssMb = peakRssMb()
  console.log(JSON.stringify(result))
} else {
  // Imported here, not above: the measured and baseline processes load neither.
  const { spawnSync } = await import('node:child_process')
  const { fileURLToPath } = await import('node:url')
  const { startCollector } = await import('../bindings-node/test/support.mjs')
  const run = (env) => {
    const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url)], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit']
    })
    if (child.status !== 0) throw new Error(`${env.BENCH_ROLE} process failed (status ${child.status})`)
    return JSON.parse(child.stdout.trim().split('\n').pop())
  }
  // Counts and ids, not every request body: a real collector would not keep them either.
  const collector = await startCollector(['--keep-bodies', 'false'])
  try {
    const r = run({ BENCH_ROLE: 'client', BENCH_COLLECTOR_URL: collector.url })
    const stats = await collector.stats()
    const cpu = r.cpuUs > 0 ? ` (${r.cpuUs.toFixed(2)} µs CPU on the calling thread)` : ''
    console.log(`track(): ${r.us.toFixed(2)} µs/call${cpu} over ${CALLS} calls (3-key properties, segment destination)`)
    const stored = stats.segment.events - r.firstDelivered
    console.log(`end to end: ${END_TO_END} events in ${r.seconds.toFixed(3)} s (track loop ${r.trackSeconds.toFixed(3)} s); delivered ${r.delivered} (flush complete: ${r.flushComplete}), collector stored ${stored} (${stats.segment.requests} requests in both runs)`)
    const baseline = run({ BENCH_ROLE: 'baseline' })
    console.log(`peak RSS: ${r.peakRssMb.toFixed(1)} MB (the same loops with a client that does nothing: ${baseline.peakRssMb.toFixed(1)} MB)`)
  } finally {
    collector.stop()
  }
}
