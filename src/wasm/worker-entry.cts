/**
 * Piscina's entry point for the Wasm worker, in CommonJS on purpose.
 *
 * Piscina loads a worker file with `require()` first. On Node 20.19+ that
 * loads an ES module synchronously (`require(esm)`), and a worker terminated
 * in the middle of that load (a timed-out task's replacement, stopped while it
 * starts) aborts the whole process with a V8 fatal error. This file is plain
 * CommonJS, and it loads the real worker with `import()`, whose asynchronous
 * path survives termination. The import is done once per worker.
 */
type Handler = (request: unknown) => unknown

let handler: Promise<Handler> | undefined

async function run (request: unknown): Promise<unknown> {
  handler ??= import('./worker.js').then(module => (module as { default: Handler }).default)
  return (await handler)(request)
}

export = run
