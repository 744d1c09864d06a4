// Typed usage of the public API; `tsc --noEmit` checks it against js/index.d.ts in `make test`.
import tracklane, { Client, type DeliveryReport, type Outcome, type Stats, type TracklaneError } from '../../js/index.js'

const client = new Client({
  destinations: [{ type: 'webanalyzer', apiKey: 'key', websiteId: 1 }, { type: 'segment', writeKey: 'wk' }],
  flushIntervalMs: 5000,
  overflow: 'block',
  strict: false,
  exitTimeoutMs: 2000,
  onError: (failures) => { for (const f of failures) console.error(f.destination, f.messageId, f.reason, f.status) },
  onDelivery: (d) => { console.log(d.messageIds.length, d.profileId) }
})

const outcome: Outcome = client.track({ event: 'signup', properties: { plan: 'free', at: new Date(), n: 10n }, anonymousId: 'a', timestamp: Date.now() })
if (outcome.status === 'queued') console.log(outcome.destinations, outcome.errors.map((e) => e.code))
client.identify({ userId: 'u1', traits: { email: 'a@b.c' } })
client.alias({ previousId: 'a', userId: 'u1' })
client.page({ name: 'Home', context: { url: 'https://e.com/', userAgent: 'UA' } })
client.group({ groupId: 'g1', traits: { name: 'Acme' } })
const stats: Stats = client.stats()
console.log(stats.heldEvents, stats.destinations[0]?.rateLimited)

const middleware = tracklane.express({ client, cookie: 'ko_id', domain: '.example.com', maxAge: 86_400_000, sameSite: 'lax', secure: true })
void middleware

async function shutdown (): Promise<void> {
  const report: DeliveryReport = await client.flush(1000)
  console.log(report.delivered, report.timedOut, report.failures.length)
  await client.close()
}

try {
  client.track({ event: 'x' })
} catch (err) {
  const e = err as TracklaneError
  console.log(e.code, e.field, e.destination)
}

// @ts-expect-error event must be a string
client.track({ event: 5 })
// @ts-expect-error alias needs previousId
client.alias({ userId: 'u1' })

void shutdown()
