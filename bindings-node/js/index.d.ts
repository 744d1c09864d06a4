// Public types of the `tracklane` package (hand-written; the generated native .d.ts is internal).

export type JsonValue = string | number | boolean | null | Date | bigint | undefined | JsonValue[] | { [key: string]: JsonValue }
export type Properties = { [key: string]: JsonValue }

export type DestinationOptions =
  | { type: 'webanalyzer'; apiKey?: string; websiteId?: number; baseUrl?: string; name?: string; [option: string]: unknown }
  | { type: 'koala'; publicKey?: string; baseUrl?: string; name?: string; [option: string]: unknown }
  | { type: 'silktide'; propertyKey?: string; endpointUrl?: string; name?: string; [option: string]: unknown }
  | { type: 'tracardi'; sourceId?: string; baseUrl?: string; name?: string; [option: string]: unknown }
  | { type: 'dreamdata'; apiKey?: string; baseUrl?: string; name?: string; [option: string]: unknown }
  | { type: 'segment'; writeKey?: string; baseUrl?: string; name?: string; [option: string]: unknown }
  | { type: 'file'; path?: string; name?: string; [option: string]: unknown }
  | { type: 'stdout'; name?: string; [option: string]: unknown }

export interface FailedEvent {
  destination: string
  messageId: string
  /** Why it failed, including the collector's answer (`HTTP 401: unauthorized - Missing or invalid API key`). */
  reason: string
  /** The HTTP status that ended it, or null when no collector answered. */
  status: number | null
  /** The event as it would have been sent (for a dead-letter file or a replay), not the collector's answer. */
  body: string
}

export interface Delivery {
  destination: string
  messageIds: string[]
  status: number
  profileId: string | null
  attempts: number
}

export interface ClientOptions {
  /** Where events go. Default: TRACKLANE_DESTINATIONS. */
  destinations?: DestinationOptions[] | string
  flushIntervalMs?: number
  flushAt?: number
  maxQueueBytes?: number
  maxQueueEvents?: number
  overflow?: 'drop_newest' | 'block'
  blockTimeoutMs?: number
  requestTimeoutMs?: number
  connectTimeoutMs?: number
  maxInFlight?: number
  retryBaseMs?: number
  retryCapMs?: number
  maxRetryDurationMs?: number
  dedupe?: boolean
  dedupeWindowMs?: number
  dedupeMaxIds?: number
  strict?: boolean
  deadLetterPath?: string
  rateLimits?: { [destination: string]: { requests: number; per_ms: number } }
  /** Upper bound of the `beforeExit` flush. Default 2000 (TRACKLANE_EXIT_TIMEOUT_MS). */
  exitTimeoutMs?: number
  /** Events that will not be delivered. Runs on the event loop; never keeps the process alive. */
  onError?: (failures: FailedEvent[]) => void | Promise<void>
  /** Batches the collector stored. */
  onDelivery?: (delivery: Delivery) => void | Promise<void>
}

export interface Context {
  ip?: string
  userAgent?: string
  user_agent?: string
  url?: string
  referrer?: string
  viewWidth?: number
  view_width?: number
  campaign?: Properties
  library?: JsonValue
  page?: { url?: string; referrer?: string; [key: string]: JsonValue }
  [key: string]: JsonValue
}

export interface CommonCall {
  userId?: string
  anonymousId?: string
  sessionId?: string
  context?: Context
  /** Idempotency key (default: a new id in the UUID v4 layout, made unique by tracklane). */
  messageId?: string
  /** Date, ISO 8601 string or epoch milliseconds (default: now). */
  timestamp?: Date | string | number
}

export interface TrackCall extends CommonCall { event: string; properties?: Properties }
export interface IdentifyCall extends CommonCall { traits?: Properties }
export interface AliasCall extends CommonCall { previousId: string; userId: string }
export interface PageCall extends CommonCall { name?: string; properties?: Properties }
export interface GroupCall extends CommonCall { groupId: string; traits?: Properties }

export interface RuleViolation {
  code: string
  destination: string
  field: string
  message: string
}

export interface Outcome {
  status: 'queued' | 'duplicate' | 'rejected' | 'dropped' | 'skipped'
  messageId: string
  /** Destinations it was queued for (a frozen array, shared between outcomes). */
  destinations: readonly string[]
  /** Rule violations (destinations that rejected it; a frozen array). */
  errors: readonly RuleViolation[]
}

export interface DestinationReport { name: string; delivered: number; failed: number; pending: number }

export interface DeliveryReport {
  delivered: number
  failed: number
  pending: number
  rejected: number
  duplicates: number
  dropped: number
  timedOut: boolean
  destinations: DestinationReport[]
  failures: FailedEvent[]
}

export interface DestinationStats {
  name: string
  queued: number
  delivered: number
  failed: number
  rejected: number
  dropped: number
  requests: number
  retries: number
  rateLimited: number
  splits: number
  bytesSent: number
}

export interface Stats {
  calls: number
  queued: number
  duplicates: number
  rejected: number
  dropped: number
  skipped: number
  delivered: number
  failed: number
  heldEvents: number
  heldBytes: number
  destinations: DestinationStats[]
}

/** Errors thrown by tracklane: `code` is stable (`client.closed`, `webanalyzer.payload.too_many_keys`). */
export interface TracklaneError extends Error {
  code: string
  destination?: string
  field?: string
}

export class Client {
  constructor(options?: ClientOptions)
  readonly exitTimeoutMs: number
  track(call: TrackCall): Outcome
  identify(call: IdentifyCall): Outcome
  alias(call: AliasCall): Outcome
  page(call: PageCall): Outcome
  group(call: GroupCall): Outcome
  flush(timeoutMs?: number): Promise<DeliveryReport>
  close(timeoutMs?: number): Promise<DeliveryReport>
  stats(): Stats
  readonly closed: boolean
  readonly destinations: string[]
}

export interface RequestTracker {
  readonly anonymousId: string
  readonly context: Context
  userId: string | undefined
  track(event: string, properties?: Properties, extra?: Partial<TrackCall>): Outcome
  identify(userId: string, traits?: Properties, extra?: Partial<IdentifyCall>): Outcome
  page(name?: string, properties?: Properties, extra?: Partial<PageCall>): Outcome
  group(groupId: string, traits?: Properties, extra?: Partial<GroupCall>): Outcome
  alias(userId: string, extra?: Partial<AliasCall>): Outcome
}

export interface ExpressOptions {
  client: Client
  /** Visitor cookie name, or `false` for no cookie (the id comes from `anonymousId`). Default `tracklane_id`. */
  cookie?: string | false
  /**
   * Where the visitor id comes from when not (only) the cookie: a session
   * (`req => req.session.anonymousId`) or a hand-off parameter (`req => req.query.dd_anon_id`).
   * A string it returns wins over the cookie (which is then set to it); `undefined` falls back
   * to the cookie, then to a new UUID v4.
   */
  anonymousId?: (req: any) => string | undefined | null
  domain?: string
  /** Milliseconds. Default one year. */
  maxAge?: number
  sameSite?: 'lax' | 'strict' | 'none' | false
  /** Default: `req.secure`. */
  secure?: boolean
  /** Default true. */
  httpOnly?: boolean
  path?: string
}

/** Express 4/5 middleware: `(req, res, next) => void`, adds `req.tracklane`. */
export function express(options: ExpressOptions): (req: any, res: any, next: (err?: unknown) => void) => void

export const version: string
export const DEFAULT_FLUSH_TIMEOUT_MS: number
export const DEFAULT_EXIT_TIMEOUT_MS: number

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      tracklane?: RequestTracker
    }
  }
}

declare const tracklane: {
  Client: typeof Client
  express: typeof express
  version: string
  DEFAULT_FLUSH_TIMEOUT_MS: number
  DEFAULT_EXIT_TIMEOUT_MS: number
}
export default tracklane
