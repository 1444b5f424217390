import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MessageReader, writeFrame, writeMessage } from '../../src/net/framing.js'
import { loopbackNode, within } from './helpers.js'
import type { Stream } from '@libp2p/interface'
import type { TestContext } from 'node:test'

const PROTOCOL = '/ipvm/test-framing/1.0.0'

/** Two connected nodes; the server answers each stream with `serve`. */
async function pair (t: TestContext, serve: (stream: Stream) => Promise<void>): Promise<() => Promise<Stream>> {
  const server = await loopbackNode(t, 0)
  const client = await loopbackNode(t, 1)
  await server.start()
  await client.start()
  await server.libp2p.handle(PROTOCOL, async stream => { await serve(stream).catch(err => { stream.abort(err as Error) }) })
  return async () => await client.libp2p.dialProtocol(server.getMultiaddrs()[0]!, PROTOCOL, within(5_000))
}

test('messages round-trip as length-prefixed DAG-CBOR, and a clean close reads as undefined', async t => {
  const open = await pair(t, async stream => {
    await writeMessage(stream, { hello: 'world', n: 1 })
    await writeMessage(stream, { bytes: new Uint8Array([1, 2, 3]) })
    await stream.close()
  })
  const stream = await open()
  const reader = new MessageReader(stream, { timeoutMs: 5_000 })
  assert.deepEqual(await reader.read(), { hello: 'world', n: 1 })
  assert.deepEqual(await reader.read(), { bytes: new Uint8Array([1, 2, 3]) })
  assert.equal(await reader.read(), undefined)
  await assert.rejects(reader.readRequired('third message'), { name: 'UnexpectedEndOfStreamError' })
})

test('an oversize message is refused from its length prefix with MessageTooLargeError', async t => {
  const open = await pair(t, async stream => {
    await writeFrame(stream, new Uint8Array(64 * 1024))
    await stream.close()
  })
  const stream = await open()
  const reader = new MessageReader(stream, { maxMessageBytes: 1024, timeoutMs: 5_000 })
  await assert.rejects(reader.read(), { name: 'MessageTooLargeError' })
  assert.notEqual(stream.status, 'open', 'the stream is aborted')
  await assert.rejects(writeMessage(stream, new Uint8Array(2048), { maxMessageBytes: 1024 }), { name: 'MessageTooLargeError' })
})

test('a silent peer times out with MessageTimeoutError', async t => {
  const open = await pair(t, async () => {})
  const stream = await open()
  const reader = new MessageReader(stream, { timeoutMs: 300 })
  const started = Date.now()
  await assert.rejects(reader.read(), { name: 'MessageTimeoutError' })
  assert.ok(Date.now() - started < 3_000)
  assert.notEqual(stream.status, 'open')
})

test('bytes that are not DAG-CBOR are MalformedMessageError', async t => {
  const open = await pair(t, async stream => {
    await writeFrame(stream, new Uint8Array([0xff, 0xfe, 0xfd]))
    await stream.close()
  })
  const reader = new MessageReader(await open(), { timeoutMs: 5_000 })
  await assert.rejects(reader.read(), { name: 'MalformedMessageError' })
})
