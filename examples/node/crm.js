'use strict'
// CRM integration from Web Analyzer App's guide: fire `lead_created` when the CRM creates
// a lead. The guide awaited a fetch per lead; `track()` queues without any I/O, so the CRM's
// code path never waits on the collector, and leads created together go out in one batch.
//
// Keys come from the environment: TRACKLANE_WEBANALYZER_API_KEY,
// TRACKLANE_WEBANALYZER_WEBSITE_ID (and TRACKLANE_WEBANALYZER_BASE_URL for another collector).

const { Client } = require('tracklane')

const client = new Client({ destinations: 'webanalyzer' })

/** Call when a new lead is created in your CRM. Returns tracklane's outcome. */
function onLeadCreated (lead) {
  return client.track({
    event: 'lead_created',
    properties: {
      lead_id: lead.id,
      source: lead.source,
      company: lead.company,
      // Web Analyzer's payload values are strings; tracklane sends numbers as strings itself.
      value: lead.estimatedValue
    }
  })
}

module.exports = { onLeadCreated, client }
