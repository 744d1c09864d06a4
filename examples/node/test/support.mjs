// Test support for the Node examples: the local collector, the examples run as a user runs
// them (`node shop.js --port 0`, configured by TRACKLANE_* variables), and what the collector
// received, event by event.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import path from 'node:path'

export const examplesDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const root = path.resolve(examplesDir, '../..')

/** The collector's default keys (tests/collector/src/config.rs). */
export const KEYS = { webanalyzer: 'test-wa-key', koala: 'test-koala-key', dreamdata: 'test-dd-key' }
export const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

/** The first stdout line of `proc` that matches `pattern`, or an error if it exits first. */
function announced (proc, pattern, what) {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: proc.stdout })
    const onExit = (code) => reject(new Error(`${what} exited with ${code} before announcing its URL`))
    lines.on('line', (line) => {
      const match = line.match(pattern)
      if (!match) return
      lines.close()
      proc.off('exit', onExit)
      proc.stdout.resume()
      resolve(match[1])
    })
    proc.once('error', reject)
    proc.once('exit', onExit)
  })
}

export async function startCollector () {
  const bin = process.env.TRACKLANE_COLLECTOR_BIN || path.join(root, 'target/debug/tracklane-collector')
  const proc = spawn(bin, ['--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] })
  const url = await announced(proc, /listening on (http:\/\/\S+)/, 'tracklane-collector')
  const control = async (method, p) => {
    const res = await fetch(url + p, { method })
    return res.json()
  }
  return {
    url,
    reset: () => control('POST', '/_reset'),
    requests: (destination) => control('GET', `/_requests?destination=${destination}`),
    stop: () => proc.kill()
  }
}

/**
 * The environment a deployment would set, pointing every destination at the collector.
 * A short flush interval so tests see events within a fraction of a second.
 */
export function collectorEnv (c) {
  return {
    TRACKLANE_WEBANALYZER_API_KEY: KEYS.webanalyzer,
    TRACKLANE_WEBANALYZER_WEBSITE_ID: '1',
    TRACKLANE_WEBANALYZER_BASE_URL: `${c.url}/api/v1`,
    TRACKLANE_KOALA_PUBLIC_KEY: KEYS.koala,
    TRACKLANE_KOALA_BASE_URL: c.url,
    TRACKLANE_DREAMDATA_API_KEY: KEYS.dreamdata,
    TRACKLANE_DREAMDATA_BASE_URL: c.url,
    TRACKLANE_FLUSH_INTERVAL_MS: '100'
  }
}

/** Starts `node examples/node/<file> --port 0`; resolves once it prints `listening on URL`. */
export async function startApp (file, env) {
  const proc = spawn(process.execPath, [path.join(examplesDir, file), '--port', '0'], {
    cwd: examplesDir,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  const url = await announced(proc, /^listening on (http:\/\/127\.0\.0\.1:\d+)$/, file)
  return {
    url,
    /** SIGTERM, as a process manager stops it; resolves with the exit code. */
    stop: () => new Promise((resolve) => {
      if (proc.exitCode !== null) return resolve(proc.exitCode)
      proc.once('exit', (code) => resolve(code))
      proc.kill('SIGTERM')
    })
  }
}

/** Runs `node examples/node/<file>` to completion. */
export function runScript (file, env) {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [path.join(examplesDir, file)], { cwd: examplesDir, env: { ...process.env, ...env } })
    let stdout = ''
    let stderr = ''
    proc.stdout.on('data', (d) => { stdout += d })
    proc.stderr.on('data', (d) => { stderr += d })
    proc.once('error', reject)
    proc.once('close', (code) => resolve({ code, stdout, stderr }))
  })
}

/** The events one recorded request carried, each with the request it came in. */
function eventsOf (destination, request) {
  const body = request.body
  switch (destination) {
    case 'webanalyzer':
      return request.path.endsWith('/track/batch') ? body.events : [body]
    case 'koala':
      // An identify is {profile_id, email}; a track request {profile_id, events: [...]}.
      return body.events
        ? body.events.map((e) => ({ profile_id: body.profile_id, ...e }))
        : [{ type: 'identify', ...body }]
    case 'dreamdata':
      return body.batch
    default:
      throw new Error(`no reader for ${destination}`)
  }
}

/**
 * Waits until the collector stored `count` events for `destination` and returns them, each
 * as `{ event, request }`. Fails (with what did arrive) if they are not there within 10 s.
 */
export async function received (c, destination, count) {
  const deadline = Date.now() + 10_000
  let events = []
  for (;;) {
    const requests = await c.requests(destination)
    events = requests.filter((r) => r.accepted).flatMap((request) => eventsOf(destination, request).map((event) => ({ event, request })))
    if (events.length >= count || Date.now() > deadline) break
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  assert.equal(events.length, count, `${destination} events: ${JSON.stringify(events.map((e) => e.event))}`)
  return events
}

/** Asserts a Web Analyzer request: the website's track endpoint with the Bearer key. */
export function assertWebAnalyzerRequest (request) {
  assert.match(request.path, /^\/api\/v1\/websites\/1\/track(\/batch)?$/)
  assert.equal(request.method, 'POST')
  assert.equal(request.headers.authorization, `Bearer ${KEYS.webanalyzer}`)
  assert.equal(request.status, 200)
}

/** `name=value` of a response's Set-Cookie for `name` and its attributes, or undefined. */
export function setCookie (res, name) {
  const line = res.headers.getSetCookie().find((l) => l.startsWith(`${name}=`))
  if (!line) return undefined
  const [pair, ...attributes] = line.split(';').map((s) => s.trim())
  return { value: decodeURIComponent(pair.slice(name.length + 1)), attributes, line }
}
