'use strict'
// Express (4 and 5) middleware: the visitor cookie and a per-request tracker.
//
// It reads the visitor cookie from the `Cookie` header itself (no cookie-parser), sets a new
// UUID v4 when there is none, and gives each request `req.tracklane`: a tracker with the
// anonymous id, ip (`req.ip`, so Express's `trust proxy` applies), user agent, full url and
// referrer bound, so a handler writes `req.tracklane.track('lead_created', {...})`.
// Where the id lives somewhere else (a server session, a cross-domain `?dd_anon_id=` hand-off),
// `anonymousId: (req) => id` supplies it, and `cookie: false` turns the cookie off.

const { randomUUID } = require('node:crypto')

/** Default visitor cookie name. */
const DEFAULT_COOKIE = 'tracklane_id'
/** A visitor id lives a year (ms, as Express's `res.cookie` takes it). */
const DEFAULT_MAX_AGE_MS = 365 * 24 * 3600 * 1000
/** Longest cookie value accepted as a visitor id (the core's id limit). */
const MAX_ID_CHARS = 255

function argTypeError (message) {
  const err = new TypeError(message)
  err.code = 'ERR_INVALID_ARG_TYPE'
  return err
}

/** `value` if it can serve as a visitor id (non-empty, at most the core's id limit, no control characters). */
function usableId (value) {
  // eslint-disable-next-line no-control-regex
  if (typeof value !== 'string' || value === '' || value.length > MAX_ID_CHARS || /[\u0000-\u001f\u007f]/.test(value)) return undefined
  return value
}

/** The value of cookie `name` in a `Cookie` header, or undefined. */
function readCookie (header, name) {
  if (typeof header !== 'string' || header === '') return undefined
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue
    let value = part.slice(eq + 1).trim()
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1)
    try {
      value = decodeURIComponent(value)
    } catch {
      return undefined
    }
    return usableId(value)
  }
  return undefined
}

function serializeCookie (name, value, o) {
  const parts = [`${name}=${encodeURIComponent(value)}`]
  if (o.maxAge !== undefined) parts.push(`Max-Age=${Math.floor(o.maxAge / 1000)}`)
  if (o.domain) parts.push(`Domain=${o.domain}`)
  if (o.path) parts.push(`Path=${o.path}`)
  if (o.httpOnly) parts.push('HttpOnly')
  if (o.secure) parts.push('Secure')
  if (o.sameSite) parts.push(`SameSite=${o.sameSite[0].toUpperCase()}${o.sameSite.slice(1).toLowerCase()}`)
  return parts.join('; ')
}

function header (req, name) {
  return typeof req.get === 'function' ? req.get(name) : req.headers[name]
}

/** The request's context: ip, user agent, full url, referrer. */
function requestContext (req) {
  const context = {}
  const ip = req.ip || (req.socket && req.socket.remoteAddress)
  if (ip) context.ip = ip
  const userAgent = header(req, 'user-agent')
  if (userAgent) context.userAgent = userAgent
  const host = header(req, 'host')
  const protocol = req.protocol || (req.socket && req.socket.encrypted ? 'https' : 'http')
  if (host) context.url = `${protocol}://${host}${req.originalUrl || req.url || ''}`
  const referrer = header(req, 'referer') || header(req, 'referrer')
  if (referrer) context.referrer = referrer
  return context
}

/** A client bound to one request's visitor and context. */
class RequestTracker {
  constructor (client, anonymousId, context) {
    this.client = client
    this.anonymousId = anonymousId
    this.context = context
    /** Set it (e.g. after login) and later calls carry it. */
    this.userId = undefined
  }

  bind (call) {
    const bound = { anonymousId: this.anonymousId, ...call }
    if (this.userId !== undefined && bound.userId === undefined) bound.userId = this.userId
    bound.context = call.context ? { ...this.context, ...call.context } : this.context
    return bound
  }

  /** `track('lead_created', { plan })`, with optional extra call fields (messageId, userId...). */
  track (event, properties, extra) {
    return this.client.track(this.bind({ ...extra, event, properties }))
  }

  identify (userId, traits, extra) {
    return this.client.identify(this.bind({ ...extra, userId, traits }))
  }

  page (name, properties, extra) {
    return this.client.page(this.bind({ ...extra, name, properties }))
  }

  group (groupId, traits, extra) {
    return this.client.group(this.bind({ ...extra, groupId, traits }))
  }

  /** Links this visitor's anonymous id to `userId`. */
  alias (userId, extra) {
    return this.client.alias(this.bind({ previousId: this.anonymousId, ...extra, userId }))
  }
}

function express (options) {
  if (!options || typeof options !== 'object') throw argTypeError('tracklane.express(options): options must be an object')
  const { client, cookie = DEFAULT_COOKIE, anonymousId: resolveId, domain, maxAge = DEFAULT_MAX_AGE_MS, sameSite = 'lax', secure, httpOnly = true, path = '/' } = options
  if (!client || typeof client.track !== 'function') throw argTypeError('tracklane.express(options): options.client must be a tracklane Client')
  if (cookie !== false && (typeof cookie !== 'string' || cookie === '')) throw argTypeError('tracklane.express(options): options.cookie must be a cookie name or false')
  if (resolveId !== undefined && typeof resolveId !== 'function') throw argTypeError('tracklane.express(options): options.anonymousId must be a function (req) => id | undefined')
  return function tracklaneMiddleware (req, res, next) {
    // An id from `options.anonymousId` (a session, a cross-domain hand-off parameter) wins
    // over the cookie; the cookie is then (re)set to it so later requests carry it.
    const fromCookie = cookie === false ? undefined : readCookie(req.headers.cookie, cookie)
    const resolved = resolveId === undefined ? undefined : usableId(resolveId(req))
    const anonymousId = resolved || fromCookie || randomUUID()
    if (cookie !== false && anonymousId !== fromCookie) {
      const cookieOptions = {
        domain,
        maxAge,
        path,
        httpOnly,
        sameSite: sameSite === false ? undefined : sameSite,
        secure: secure === undefined ? Boolean(req.secure) : secure
      }
      if (typeof res.cookie === 'function') {
        res.cookie(cookie, anonymousId, cookieOptions)
      } else {
        const previous = res.getHeader('Set-Cookie')
        const line = serializeCookie(cookie, anonymousId, cookieOptions)
        res.setHeader('Set-Cookie', previous === undefined ? [line] : [].concat(previous, line))
      }
    }
    req.tracklane = new RequestTracker(client, anonymousId, requestContext(req))
    next()
  }
}

module.exports = { express, RequestTracker, readCookie, DEFAULT_COOKIE, DEFAULT_MAX_AGE_MS }
