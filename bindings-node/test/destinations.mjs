// Destination options pointed at a local collector (`c.url`), for the tests and benchmarks.

/** Destination options for `kind` pointed at the collector. */
export function destination (c, kind) {
  const url = c.url
  switch (kind) {
    case 'webanalyzer': return { type: kind, apiKey: 'test-wa-key', websiteId: 1, baseUrl: `${url}/api/v1` }
    case 'koala': return { type: kind, publicKey: 'test-koala-key', baseUrl: url }
    case 'silktide': return { type: kind, propertyKey: '8bce2be8c07a84a70e7104634b42878b', endpointUrl: `${url}/v1/events` }
    case 'tracardi': return { type: kind, sourceId: 'source-id', baseUrl: url }
    case 'dreamdata': return { type: kind, apiKey: 'test-dd-key', baseUrl: url }
    case 'segment': return { type: kind, writeKey: 'test-segment-key', baseUrl: `${url}/segment` }
    default: throw new Error(`unknown kind ${kind}`)
  }
}

export const KINDS = ['webanalyzer', 'koala', 'silktide', 'tracardi', 'dreamdata', 'segment']
