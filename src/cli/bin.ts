#!/usr/bin/env node
/**
 * The `ipvm` executable. The polyfill comes first: libp2p needs it on Node 20.
 */
import '../polyfill.js'
import { main } from './main.js'

const controller = new AbortController()
let interrupts = 0
process.on('SIGINT', () => {
  // First Ctrl-C: stop starting tasks, keep what finished. Second: leave now.
  if (++interrupts > 1) process.exit(130)
  process.stderr.write('\ninterrupted: stopping (press Ctrl-C again to quit at once)\n')
  controller.abort()
})
// A service manager's stop: the same orderly stop as a first Ctrl-C.
process.on('SIGTERM', () => { controller.abort() })

const code = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, signal: controller.signal })
process.exitCode = code
// Everything ipvm opened is closed by now; libp2p leaves a debounce timer of up to a second
// behind after stop, which is no reason to keep the user waiting.
setTimeout(() => { process.exit() }, 100).unref()
