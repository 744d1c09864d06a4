// ESM entry: the same objects as the CommonJS entry (one native client class, one exit registry).
import tracklane from './index.js'

export const { Client, express, version, DEFAULT_FLUSH_TIMEOUT_MS, DEFAULT_EXIT_TIMEOUT_MS } = tracklane
export default tracklane
