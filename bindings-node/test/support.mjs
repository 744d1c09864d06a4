// Test support: one real local collector per test file, and clients pointed at it.
import { spawn } from 'node:child_process'
import http from 'node:http'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import path from 'node:path'

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
export const VISITOR = '550e8400-e29b-41d4-a716-446655440000'

/** Starts the collector; `extraArgs` (e.g. `['--keep-bodies', 'false']` for benchmarks) go on its command line. */
export async function startCollector (extraArgs = []) {
  const bin = process.env.TRACKLANE_COLLECTOR_BIN || path.join(root, 'target/debug/tracklane-collector')
  const proc = spawn(bin, ['--port', '0', ...extraArgs], { stdio: ['ignore', 'pipe', 'inherit'] })
  const line = await new Promise((resolve, reject) => {
    const rl = createInterface({ input: proc.stdout })
    rl.once('line', (l) => { rl.close(); resolve(l) })
    proc.once('error', reject)
    proc.once('exit', (code) => reject(new Error(`collector exited with ${code}`)))
  })
  proc.stdout.resume()
  const url = line.match(/http:\/\/\S+/)[0]
  // node:http, not fetch: fetch loads undici, whose HTTP parser is WebAssembly that V8
  // compiles on first use (about 30 MB of compiler memory at its peak), and the benchmark's
  // peak RSS would count that as the client's.
  const call = (method, p, body) => new Promise((resolve, reject) => {
    const payload = body ? JSON.stringify(body) : undefined
    const headers = payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}
    const req = http.request(url + p, { method, headers }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk) => { text += chunk })
      res.on('end', () => {
        try {
          resolve(text ? JSON.parse(text) : null)
        } catch (err) {
          reject(err)
        }
      })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(payload)
  })
  return {
    url,
    reset: () => call('POST', '/_reset'),
    requests: (destination) => call('GET', destination ? `/_requests?destination=${destination}` : '/_requests'),
    stats: () => call('GET', '/_stats'),
    faults: (f) => call('POST', '/_faults', f),
    clearFaults: () => call('DELETE', '/_faults'),
    config: (c) => call('POST', '/_config', c),
    stop: () => { proc.kill() }
  }
}

// Destination options, in a module of their own that loads nothing (the benchmark's measured
// process uses them without this module's child_process and http).
export { destination, KINDS } from './destinations.mjs'

/** Fast retries so fault tests finish in seconds. */
export function fastOptions (destinations, extra = {}) {
  return { destinations, flushIntervalMs: 200, retryBaseMs: 50, retryCapMs: 500, ...extra }
}

/** A track call every collector accepts. */
export function event (name, n = 0) {
  return {
    event: name,
    anonymousId: VISITOR,
    properties: { seq: String(n) },
    context: { ip: '84.14.132.114', userAgent: 'Mozilla/5.0', url: 'https://example.com/' }
  }
}

export async function eventually (check, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return true
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return false
}
