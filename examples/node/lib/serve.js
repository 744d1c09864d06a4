'use strict'
// Runs an example app as a server. `node shop.js --port 0` (0: any free port) prints one
// `listening on http://HOST:PORT` line, which scripts and `make demo` wait for.
//
// SIGTERM and SIGINT skip Node's `beforeExit`, where tracklane flushes on its own, so the
// client is closed here before the process exits: what is still queued gets delivered.

/** The port when neither `--port` nor PORT says otherwise. */
const DEFAULT_PORT = 3000
/** How long a stopping server may spend delivering what is queued. */
const CLOSE_TIMEOUT_MS = 5000

function portFrom (argv, env) {
  const flag = argv.indexOf('--port')
  const value = flag >= 0 ? argv[flag + 1] : env.PORT
  if (value === undefined || value === '') return DEFAULT_PORT
  const port = Number(value)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`--port must be a port number (0 for any free one), got ${value}`)
  }
  return port
}

/** Listens, announces the URL, and closes `client` (delivering its queue) on SIGTERM/SIGINT. */
function serve (app, client, { argv = process.argv.slice(2), env = process.env } = {}) {
  const server = app.listen(portFrom(argv, env), env.HOST || '127.0.0.1')
  server.once('listening', () => {
    const { address, port } = server.address()
    const host = address.includes(':') ? `[${address}]` : address
    console.log(`listening on http://${host}:${port}`)
  })
  const stop = async () => {
    server.close()
    server.closeIdleConnections()
    await client.close(CLOSE_TIMEOUT_MS)
    process.exit(0)
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
  return server
}

module.exports = { serve }
