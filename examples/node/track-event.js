'use strict'
// The `trackEvent(name, payload, visitorId)` helper from Web Analyzer App's guide (Node.js,
// fetch), on tracklane. Same signature; it returns tracklane's outcome at once instead of the
// collector's answer, because delivery (batching, retries, pacing to 60 requests a minute)
// happens in the background. Like the guide's helper it throws when the event cannot be
// sent: here when Web Analyzer's rules reject it (a name over 128 characters, more than 10
// payload keys...), before anything goes over the network.
//
// Keys come from the environment: TRACKLANE_WEBANALYZER_API_KEY,
// TRACKLANE_WEBANALYZER_WEBSITE_ID (and TRACKLANE_WEBANALYZER_BASE_URL for another collector).
//
// Run: node track-event.js   (sends the guide's `signup` event; delivered before exit)

const { Client } = require('tracklane')

const client = new Client({ destinations: 'webanalyzer' })

function trackEvent (name, payload = {}, visitorId = null) {
  const outcome = client.track({ event: name, properties: payload, anonymousId: visitorId || undefined })
  if (outcome.status === 'rejected') {
    const [first] = outcome.errors
    const error = new Error(`Tracking failed: ${first.field} ${first.message}`)
    error.code = first.code
    throw error
  }
  return outcome
}

module.exports = { trackEvent, client }

// Usage. Nothing to await: the process flushes on `beforeExit` (up to 2 s,
// TRACKLANE_EXIT_TIMEOUT_MS), so the event is delivered before the script ends.
if (require.main === module) {
  trackEvent('signup', { plan: 'free', source: 'organic' })
}
