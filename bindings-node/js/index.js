'use strict'
// The JS face of tracklane: the native client plus what is idiomatic in Node (defaults,
// callback guards, one `beforeExit` flush for every live client, Express middleware).
// All tracking logic is in the Rust core; this file only shapes arguments and results.

const { types: { isDate } } = require('node:util')
const native = require('../index.js')

/** What `flush()`/`close()` wait by default (the core's DEFAULT_FLUSH_TIMEOUT): a flush never hangs. */
const DEFAULT_FLUSH_TIMEOUT_MS = 10_000
/** What the `beforeExit` flush may take by default (the core's DEFAULT_EXIT_TIMEOUT). */
const DEFAULT_EXIT_TIMEOUT_MS = 2_000

const kNative = Symbol('tracklane.native')
const kDestinations = Symbol('tracklane.destinations')
const kSend = Symbol('tracklane.send')

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

/** An outcome's `errors` when there are none. */
const NO_ERRORS = Object.freeze([])

/**
 * The native outcome as the public object: the message id alone means queued for every
 * destination. Its arrays are frozen, so an outcome queued for every destination shares the
 * client's list rather than copying it (two arrays fewer per call: 4 MB of the Node bench's
 * peak RSS, which V8's young generation grew by).
 */
function outcome (client, raw) {
  if (typeof raw === 'string') {
    return { status: 'queued', messageId: raw, destinations: client[kDestinations], errors: NO_ERRORS }
  }
  const flat = raw[3]
  let errors = NO_ERRORS
  if (flat !== undefined) {
    errors = []
    for (let i = 0; i < flat.length; i += 4) {
      errors.push({ code: flat[i], destination: flat[i + 1], field: flat[i + 2], message: flat[i + 3] })
    }
    Object.freeze(errors)
  }
  return { status: raw[0], messageId: raw[1], destinations: Object.freeze(raw[2]), errors }
}

// Call kinds as the native `send` numbers them, and the native method of each for the object
// path.
const TRACK = 0
const IDENTIFY = 1
const ALIAS = 2
const PAGE = 3
const GROUP = 4
const OBJECT_PATH = ['track', 'identify', 'alias', 'page', 'group']

// The fields of a call, one bit each in the order the native `send` takes them (`name`, page's
// spelling of `event`, is passed as `event`).
const EVENT = 1
const PROPERTIES = 2
const TRAITS = 4
const USER_ID = 8
const ANONYMOUS_ID = 16
const PREVIOUS_ID = 32
const GROUP_ID = 64
const SESSION_ID = 128
const CONTEXT = 256
const MESSAGE_ID = 512
const TIMESTAMP = 1024
const NAME = 2048

/** Maps with more keys than this are passed as objects rather than spread out. */
const MAX_SPREAD_KEYS = 32

const hasOwnProperty = Object.prototype.hasOwnProperty

/**
 * The bits of the fields `call` holds as own enumerable keys, or -1 when one is anything else
 * (a snake_case spelling or a typo: the object path accepts or refuses it) or both `event` and
 * `name` are there. `for...in` rather than `Object.keys`: it walks the object's cached key list
 * without building an array (with the entries below, three arrays fewer per call: the Node
 * bench's peak RSS fell by 4-5 MB).
 */
function fieldBits (call) {
  let bits = 0
  for (const key in call) {
    if (!hasOwnProperty.call(call, key)) continue
    switch (key) {
      case 'event': bits |= EVENT; break
      case 'properties': bits |= PROPERTIES; break
      case 'traits': bits |= TRAITS; break
      case 'userId': bits |= USER_ID; break
      case 'anonymousId': bits |= ANONYMOUS_ID; break
      case 'previousId': bits |= PREVIOUS_ID; break
      case 'groupId': bits |= GROUP_ID; break
      case 'sessionId': bits |= SESSION_ID; break
      case 'context': bits |= CONTEXT; break
      case 'messageId': bits |= MESSAGE_ID; break
      case 'timestamp': bits |= TIMESTAMP; break
      case 'name': bits |= NAME; break
      default: return -1
    }
  }
  return (bits & EVENT) !== 0 && (bits & NAME) !== 0 ? -1 : bits
}

/** Returned by `mapField` for a value the object path must refuse. */
const REFUSE = Symbol('refuse')

/**
 * Map entries passed to the native `send` as that many arguments (8 keys); a call with more
 * spreads them from an array.
 */
const ENTRY_ARGS = 16

/**
 * Where the fast path writes a call's map entries, reused from call to call. A getter that
 * makes a call of its own while the entries are being read gets an array of its own.
 */
const shared = { entries: new Array(ENTRY_ARGS).fill(undefined), length: 0, busy: false }

/**
 * A `properties`/`traits`/`context` value for the native `send`: an object's entries are
 * written to `into.entries` from `into.length` on (its own enumerable string keys, each value
 * read once, as the native object path reads them) and their count stands in for it. An
 * array, a Date or a large object is passed as it is (the native side converts or refuses
 * it); a value that is not an object at all goes to the object path, which refuses it.
 */
function mapField (value, into) {
  if (value === undefined || value === null) return value
  if (typeof value !== 'object') return REFUSE
  if (Array.isArray(value) || isDate(value)) return value
  let count = 0
  for (const key in value) {
    if (hasOwnProperty.call(value, key) && ++count > MAX_SPREAD_KEYS) return value
  }
  const entries = into.entries
  const from = into.length
  let at = from
  for (const key in value) {
    if (!hasOwnProperty.call(value, key)) continue
    entries[at++] = key
    entries[at++] = value[key]
  }
  into.length = at
  // What was written: a getter may have deleted a key the walk had yet to reach.
  return (at - from) / 2
}

/**
 * Makes a call of `kind`. The fast path reads the call object here (walking keys in JS costs
 * a fraction of listing them through N-API), each own field once, and hands the native `send`
 * the fields positionally with the maps spread out: one crossing, no key listing on the
 * native side, and no array built for an ordinary call. A call it does not take (not an
 * object, an unknown or snake_case key) or whose values fail to convert goes through the
 * object path, which converts the call object again and throws the error it always threw (a
 * getter in a failing call can run twice).
 */
function enqueue (client, kind, call) {
  if (typeof call === 'object' && call !== null && !Array.isArray(call)) {
    const bits = fieldBits(call)
    if (bits !== -1) {
      const into = shared.busy ? { entries: [], length: 0, busy: true } : shared
      into.busy = true
      try {
        const raw = send(client, kind, call, bits, into)
        if (raw !== undefined) return outcome(client, raw)
      } finally {
        if (into === shared) {
          // Not kept alive by the next call's leftovers (a loop: `fill` is a runtime call).
          const entries = shared.entries
          for (let i = 0; i < shared.length; i++) entries[i] = undefined
          shared.length = 0
          shared.busy = false
        }
      }
    }
  }
  return outcome(client, client[kNative][OBJECT_PATH[kind]](call))
}

/** The fast path's crossing: the native outcome, or undefined to take the object path. */
function send (client, kind, call, bits, into) {
  const event = (bits & EVENT) !== 0 ? call.event : (bits & NAME) !== 0 ? call.name : undefined
  const properties = (bits & PROPERTIES) !== 0 ? mapField(call.properties, into) : undefined
  const traits = (bits & TRAITS) !== 0 ? mapField(call.traits, into) : undefined
  const context = (bits & CONTEXT) !== 0 ? mapField(call.context, into) : undefined
  if (properties === REFUSE || traits === REFUSE || context === REFUSE) return undefined
  const header = kind | (((bits & NAME) !== 0 ? (bits ^ NAME) | EVENT : bits) << 3)
  const userId = (bits & USER_ID) !== 0 ? call.userId : undefined
  const anonymousId = (bits & ANONYMOUS_ID) !== 0 ? call.anonymousId : undefined
  const previousId = (bits & PREVIOUS_ID) !== 0 ? call.previousId : undefined
  const groupId = (bits & GROUP_ID) !== 0 ? call.groupId : undefined
  const sessionId = (bits & SESSION_ID) !== 0 ? call.sessionId : undefined
  const messageId = (bits & MESSAGE_ID) !== 0 ? call.messageId : undefined
  const timestamp = (bits & TIMESTAMP) !== 0 ? call.timestamp : undefined
  const e = into.entries
  // The native side reads as many entries as the maps' counts say; the rest are ignored.
  if (into.length <= ENTRY_ARGS) {
    return client[kSend](header, event, properties, traits, userId, anonymousId, previousId,
      groupId, sessionId, context, messageId, timestamp,
      e[0], e[1], e[2], e[3], e[4], e[5], e[6], e[7], e[8], e[9], e[10], e[11], e[12], e[13], e[14], e[15])
  }
  return client[kSend](header, event, properties, traits, userId, anonymousId, previousId,
    groupId, sessionId, context, messageId, timestamp, ...e.slice(0, into.length))
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
    const client = new native.NativeClient(core, guarded('onError', onError), guarded('onDelivery', onDelivery))
    Object.defineProperty(this, kNative, { value: client })
    Object.defineProperty(this, kDestinations, { value: Object.freeze(client.destinationNames()) })
    Object.defineProperty(this, kSend, { value: client.sender() })
    registry.clients.add(this)
    installExitFlush()
  }

  /** Queues a track call; returns its outcome at once (never waits for the network). */
  track (call) { return enqueue(this, TRACK, call) }
  identify (call) { return enqueue(this, IDENTIFY, call) }
  alias (call) { return enqueue(this, ALIAS, call) }
  page (call) { return enqueue(this, PAGE, call) }
  group (call) { return enqueue(this, GROUP, call) }

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
