'use strict'
// The JS face of tracklane: the native client plus what is idiomatic in Node (defaults,
// callback guards, one `beforeExit` flush for every live client, Express middleware).
// All tracking logic is in the Rust core; this file only shapes arguments and results.

const native = require('../index.js')

/** What `flush()`/`close()` wait by default (the core's DEFAULT_FLUSH_TIMEOUT): a flush never hangs. */
const DEFAULT_FLUSH_TIMEOUT_MS = 10_000
/** What the `beforeExit` flush may take by default (the core's DEFAULT_EXIT_TIMEOUT). */
const DEFAULT_EXIT_TIMEOUT_MS = 2_000

const kNative = Symbol('tracklane.native')

// One registry per process, even if two copies of this module are loaded (CJS + a bundled
// copy): the `beforeExit` listener is installed once and covers every live client.
const registryKey = Symbol.for('tracklane.exitRegistry')
const registry = globalThis[registryKey] || (globalThis[registryKey] = { clients: new Set(), installed: false })

function argTypeError (message, code = 'ERR_INVALID_ARG_TYPE') {
  const err = new TypeError(message)
  err.code = code
  return err
}

function timeoutArg (name, value, fallback) {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw argTypeError(`${name} must be a non-negative number of milliseconds`)
  }
  return value
}

/** A user callback that can neither crash the process nor leave an unhandled rejection. */
function guarded (name, fn) {
  if (fn === undefined || fn === null) return undefined
  if (typeof fn !== 'function') throw argTypeError(`options.${name} must be a function`)
  const warn = (err) => process.emitWarning(`tracklane ${name} callback failed: ${err && err.stack ? err.stack : err}`, { code: 'TRACKLANE_CALLBACK_ERROR' })
  return (arg) => {
    try {
      const result = fn(arg)
      if (result && typeof result.then === 'function') result.then(undefined, warn)
    } catch (err) {
      warn(err)
    }
  }
}

/** The native `[status, messageId, destinations, flatErrors?]` as the public outcome object. */
function outcome (raw) {
  const flat = raw[3]
  const errors = []
  if (flat !== undefined) {
    for (let i = 0; i < flat.length; i += 4) {
      errors.push({ code: flat[i], destination: flat[i + 1], field: flat[i + 2], message: flat[i + 3] })
    }
  }
  return { status: raw[0], messageId: raw[1], destinations: raw[2], errors }
}

class Client {
  /**
   * @param {object} [options] destinations and client options (see docs/node.md); anything
   *   not given is read from TRACKLANE_* environment variables by the core.
   */
  constructor (options = {}) {
    if (options === null || typeof options !== 'object' || Array.isArray(options)) {
      throw argTypeError('new Client(options): options must be an object')
    }
    const { onError, onDelivery, exitTimeoutMs, ...core } = options
    const envExit = process.env.TRACKLANE_EXIT_TIMEOUT_MS
    this.exitTimeoutMs = timeoutArg('options.exitTimeoutMs', exitTimeoutMs,
      envExit !== undefined && envExit !== '' ? Number(envExit) : DEFAULT_EXIT_TIMEOUT_MS)
    Object.defineProperty(this, kNative, {
      value: new native.NativeClient(core, guarded('onError', onError), guarded('onDelivery', onDelivery))
    })
    registry.clients.add(this)
    installExitFlush()
  }

  /** Queues a track call; returns its outcome at once (never waits for the network). */
  track (call) { return outcome(this[kNative].track(call)) }
  identify (call) { return outcome(this[kNative].identify(call)) }
  alias (call) { return outcome(this[kNative].alias(call)) }
  page (call) { return outcome(this[kNative].page(call)) }
  group (call) { return outcome(this[kNative].group(call)) }

  /** Resolves with the delivery report once what was queued before it settled, or at the timeout. */
  flush (timeoutMs) {
    try {
      return this[kNative].flush(timeoutArg('timeoutMs', timeoutMs, DEFAULT_FLUSH_TIMEOUT_MS))
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** Flushes (up to the timeout), then stops the client; later calls throw `client.closed`. */
  close (timeoutMs) {
    let timeout
    try {
      timeout = timeoutArg('timeoutMs', timeoutMs, DEFAULT_FLUSH_TIMEOUT_MS)
    } catch (err) {
      return Promise.reject(err)
    }
    registry.clients.delete(this)
    return this[kNative].close(timeout)
  }

  stats () { return this[kNative].stats() }
  get closed () { return this[kNative].closed }
  get destinations () { return this[kNative].destinationNames() }
}

// `beforeExit` fires when the event loop is empty; a flush started here keeps the loop alive
// until it settles, and then `beforeExit` fires again. A client is flushed again only if it
// was used since its last exit flush, so the process exits after one round.
const lastExitFlush = new WeakMap()

function installExitFlush () {
  if (registry.installed) return
  registry.installed = true
  process.on('beforeExit', () => {
    for (const client of registry.clients) {
      if (client.closed) {
        registry.clients.delete(client)
        continue
      }
      const calls = client.stats().calls
      if (lastExitFlush.get(client) === calls) continue
      lastExitFlush.set(client, calls)
      client.flush(client.exitTimeoutMs).catch(() => {})
    }
  })
}

module.exports = {
  Client,
  express: (options) => require('./express.js').express(options),
  version: native.version(),
  DEFAULT_FLUSH_TIMEOUT_MS,
  DEFAULT_EXIT_TIMEOUT_MS
}
