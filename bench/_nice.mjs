// Benchmark (not a test): the cost of `track()` on the event loop, 200,000 events end to end
// to a Segment-spec destination on the local collector, and peak RSS.
// Run: make bench-node (or node bench/node_track.mjs after `npm install` and `make collector`).
//
// Peak RSS is the whole process's. For scale it also runs the same two loops in a child process
// whose client does nothing (BENCH_BASELINE=1): Node itself and the loops' own objects (V8's
// young generation grows with 200,000 property objects) without tracklane.
import { performance } from 'node:perf_hooks'
import { readFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const CALLS = Number(process.env.BENCH_CALLS || 200_000)

if (process.env.BENCH_BASELINE) {
  // The two loops below with a client that only keeps its last argument (so the objects are
  // built: an argument that went nowhere could be optimized away).
  let last
  const client = { track: (call) => { last = call } }
  const props = { plan: 'pro', amount: 49.99, currency: 'USD' }
  const anonymousId = 'baseline'
  for (let i = 0; i < 10_000 + CALLS; i++) client.track({ event: 'purchase', anonymousId, properties: props })
  for (let i = 0; i < Number(process.env.BENCH_EVENTS || 200_000); i++) {
    client.track({ event: 'purchase', anonymousId, properties: { order_id: `ORD-${i}`, amount: 49.99, currency: 'USD' } })
  }
  console.log((process.resourceUsage().maxRSS / 1024).toFixed(1))
  process.exit(0)
}
// Imported here, not above: the baseline child must not load the addon either.
const { startCollector, destination } = await import('../bindings-node/test/support.mjs')
const { Client } = await import('../bindings-node/js/index.mjs')

const END_TO_END = Number(process.env.BENCH_EVENTS || 200_000)
const anonymousId = '550e8400-e29b-41d4-a716-446655440000'

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

// Counts and ids, not every request body: a real collector would not keep them either.
import { readdirSync } from "node:fs"; import { execSync } from "node:child_process"
globalThis.renice = () => { if (!process.env.NICE) return; for (const t of readdirSync("/proc/self/task")) { const c = readFileSync(`/proc/self/task/${t}/comm`, "utf8").trim(); if (c.startsWith("tracklane")) execSync(`renice -n ${process.env.NICE} -p ${t}`) } }
const collector = await startCollector(['--keep-bodies', 'false'])
try {
  // 1. Time inside track(): 3-key properties, one destination, nothing else on the loop.
  {
    const client = new Client({ destinations: [destination(collector, 'segment')] }); renice()
    const props = { plan: 'pro', amount: 49.99, currency: 'USD' }
    for (let i = 0; i < 10_000; i++) client.track({ event: 'warmup', anonymousId, properties: props })
    const cpuStart = threadCpuNs()
    const start = performance.now()
    for (let i = 0; i < CALLS; i++) client.track({ event: 'purchase', anonymousId, properties: props })
    const us = ((performance.now() - start) * 1000) / CALLS
    const cpuUs = (threadCpuNs() - cpuStart) / 1000 / CALLS
    await client.close(60_000)
    const cpu = cpuUs > 0 ? ` (${cpuUs.toFixed(2)} µs CPU on the calling thread)` : ''
    console.log(`track(): ${us.toFixed(2)} µs/call${cpu} over ${CALLS} calls (3-key properties, segment destination)`)
  }
  await collector.reset()
  // 2. End to end: track, flush, count what the collector stored.
  {
    const client = new Client({ destinations: [destination(collector, 'segment')] }); renice()
    const start = performance.now()
    for (let i = 0; i < END_TO_END; i++) {
      client.track({ event: 'purchase', anonymousId, properties: { order_id: `ORD-${i}`, amount: 49.99, currency: 'USD' } })
    }
    const tracked = performance.now()
    const report = await client.flush(60_000)
    const seconds = (performance.now() - start) / 1000
    const stats = await collector.stats()
    // The flush report counts what it waited for; stats() what this client delivered in all.
    const delivered = client.stats().delivered
    await client.close(1000)
    console.log(`end to end: ${END_TO_END} events in ${seconds.toFixed(3)} s (track loop ${((tracked - start) / 1000).toFixed(3)} s); delivered ${delivered} (flush complete: ${report.pending === 0}), collector stored ${stats.segment.events} (${stats.segment.requests} requests)`)
  }
  const baseline = spawnSync(process.execPath, [fileURLToPath(import.meta.url)], {
    env: { ...process.env, BENCH_BASELINE: '1' },
    encoding: 'utf8'
  }).stdout.trim()
  console.log(`peak RSS: ${(process.resourceUsage().maxRSS / 1024).toFixed(1)} MB (the same loops with a client that does nothing: ${baseline} MB)`)
} finally {
  collector.stop()
}
