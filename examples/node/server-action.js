'use strict'
// The plain PHP (cURL) example from Web Analyzer App's guide: one `server_action` event from
// a script, and a line saying whether it was stored. A script has no server to keep running,
// so it closes the client, which waits until the event is delivered or has failed, and reads
// the delivery report.
//
// Keys come from the environment: TRACKLANE_WEBANALYZER_API_KEY,
// TRACKLANE_WEBANALYZER_WEBSITE_ID (and TRACKLANE_WEBANALYZER_BASE_URL for another collector).
//
// Run: node server-action.js

const { Client } = require('tracklane')

async function main () {
  const client = new Client({ destinations: 'webanalyzer' })
  client.track({
    event: 'server_action',
    properties: {
      action: 'user_registered',
      email: 'user@example.com'
    }
  })
  const report = await client.close()
  if (report.delivered === 1) {
    console.log('Event tracked successfully')
    return 0
  }
  const failure = report.failures[0]
  if (failure) {
    console.error(`Error: ${failure.reason}`) // "HTTP 401: unauthorized - Missing or invalid API key"
  } else {
    console.error(`Error: not delivered (${report.pending} pending, ${report.rejected} rejected)`)
  }
  return 1
}

main().then(
  (code) => { process.exitCode = code },
  (err) => { // a missing key or URL: Client() names the TRACKLANE_* variable to set
    console.error(`Error: ${err.message}`)
    process.exitCode = 1
  }
)
