// The package as a user gets it: `npm pack`, install the tarball into an empty project,
// require and import it, and track to the collector.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startCollector, destination, root } from './support.mjs'

let c, dir
before(async () => { c = await startCollector(); dir = mkdtempSync(path.join(tmpdir(), 'tracklane-pack-')) })
after(() => { c.stop(); rmSync(dir, { recursive: true, force: true }) })

test('npm pack produces a tarball that installs into an empty project and tracks', async () => {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
  // --ignore-scripts: the addon is already built by `npm install`; `prepare` would rebuild it.
  const out = execFileSync(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: root, encoding: 'utf8' })
  const [info] = JSON.parse(out)
  const files = info.files.map((f) => f.path)
  for (const f of ['bindings-node/js/index.js', 'bindings-node/js/index.mjs', 'bindings-node/js/index.d.ts', 'bindings-node/js/express.js', 'bindings-node/index.js']) {
    assert.ok(files.includes(f), `${f} missing from ${files}`)
  }
  assert.ok(files.some((f) => f.endsWith('.node')), 'native addon missing')
  const project = path.join(dir, 'app')
  execFileSync('mkdir', ['-p', project])
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }))
  execFileSync(npm, ['install', '--no-audit', '--no-fund', '--offline', path.join(dir, info.filename)], { cwd: project, encoding: 'utf8' })
  const options = JSON.stringify({ destinations: [destination(c, 'segment')] })
  const cjs = `const t = require('tracklane'); const c = new t.Client(${options}); c.track({ event: 'from_pack', anonymousId: 'cookieless' }); c.close().then(r => console.log(JSON.stringify(r)))`
  const report = JSON.parse(execFileSync(process.execPath, ['-e', cjs], { cwd: project, encoding: 'utf8' }))
  assert.equal(report.delivered, 1)
  const esm = `import { Client, express } from 'tracklane'; const c = new Client(${options}); c.track({ event: 'from_pack_esm', anonymousId: 'cookieless' }); console.log(typeof express, JSON.stringify(await c.close()))`
  const line = execFileSync(process.execPath, ['--input-type=module', '-e', esm], { cwd: project, encoding: 'utf8' })
  assert.ok(line.startsWith('function {'), line)
  assert.equal((await c.stats()).segment.events, 2)
})
