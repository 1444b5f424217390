/**
 * Wire framing: each message is a varint length prefix followed by DAG-CBOR.
 * Every read has a size limit (checked on the length prefix, before the body
 * is buffered) and its own timeout; a failed read aborts the stream.
 */
import * as lp from 'it-length-prefixed'
import * as dagCbor from '@ipld/dag-cbor'
import { Uint8ArrayList } from 'uint8arraylist'
import { DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MESSAGE_TIMEOUT_MS } from './constants.js'
import { MalformedMessageError, MessageTimeoutError, MessageTooLargeError, UnexpectedEndOfStreamError } from './errors.js'
import type { Stream } from '@libp2p/interface'
import type { AbortOptions } from '../store/interface.js'

// A varint of up to 5 bytes encodes lengths up to 2^35, far above any limit.
const MAX_LENGTH_PREFIX_BYTES = 5

/** Limits of a {@link MessageReader}. */
export interface MessageReaderInit {
  /**
   * Largest message body accepted (bytes).
   * @default 4194304
   */
  maxMessageBytes?: number
  /**
   * Time allowed for each message to arrive, counted from the call to `read` (ms).
   * @default 10000
   */
  timeoutMs?: number
}

/**
 * Reads length-prefixed DAG-CBOR messages from a stream, one at a time.
 *
 * @example
 * ```ts
 * const reader = new MessageReader(stream, { maxMessageBytes: 1024, timeoutMs: 5000 })
 * const request = await reader.read() // throws MessageTimeoutError, MessageTooLargeError, …
 * ```
 */
export class MessageReader {
  private readonly stream: Stream
  private readonly maxMessageBytes: number
  private readonly timeoutMs: number
  private readonly buffer = new Uint8ArrayList()
  private closeError: Error | undefined
  private wake: (() => void) | undefined

  constructor (stream: Stream, init: MessageReaderInit = {}) {
    this.maxMessageBytes = init.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES
    this.timeoutMs = init.timeoutMs ?? DEFAULT_MESSAGE_TIMEOUT_MS
    if (!(this.maxMessageBytes > 0)) throw new RangeError(`maxMessageBytes must be positive, got ${this.maxMessageBytes}`)
    if (!(this.timeoutMs > 0)) throw new RangeError(`timeoutMs must be positive, got ${this.timeoutMs}`)
    this.stream = stream
    // Listening from construction on: data that arrived earlier is buffered by the stream and
    // dispatched as soon as a listener exists; end of stream is read from the stream's status,
    // so an end signalled before this reader existed is not missed.
    stream.addEventListener('message', event => {
      this.buffer.append(event.data)
      // Stop taking data beyond one message; the stream's own read-buffer limit then applies.
      if (this.buffer.byteLength > this.maxMessageBytes + MAX_LENGTH_PREFIX_BYTES) stream.pause()
      this.wake?.()
    })
    stream.addEventListener('close', event => {
      this.closeError = event.error
      this.wake?.()
    })
    stream.addEventListener('remoteCloseWrite', () => { this.wake?.() })
  }

  /**
   * The next message, decoded; `undefined` when the remote closed its end
   * cleanly between messages. Throws {@link MessageTimeoutError},
   * {@link MessageTooLargeError}, {@link MalformedMessageError} or
   * {@link UnexpectedEndOfStreamError}, after aborting the stream.
   */
  async read (options: AbortOptions = {}): Promise<unknown> {
    const bytes = await this.next(options)
    if (bytes === undefined) return undefined
    try {
      return dagCbor.decode(bytes)
    } catch (err) {
      throw this.fail(new MalformedMessageError(`message is not DAG-CBOR: ${(err as Error).message}`))
    }
  }

  /** Like {@link read}, but a closed stream is an {@link UnexpectedEndOfStreamError}. */
  async readRequired (what: string, options: AbortOptions = {}): Promise<unknown> {
    const value = await this.read(options)
    if (value === undefined) throw this.fail(new UnexpectedEndOfStreamError(`stream closed before the ${what} arrived`))
    return value
  }

  private async next (options: AbortOptions): Promise<Uint8Array | undefined> {
    const deadline = Date.now() + this.timeoutMs
    if (this.stream.readStatus === 'paused') this.stream.resume()
    while (true) {
      const frame = this.takeFrame()
      if (frame !== undefined) return frame
      if (this.closeError !== undefined) throw this.fail(this.closeError)
      if (this.ended()) {
        if (this.buffer.byteLength === 0) return undefined
        throw this.fail(new UnexpectedEndOfStreamError(`stream closed inside a message (${this.buffer.byteLength} bytes buffered)`))
      }
      const remaining = deadline - Date.now()
      if (remaining <= 0) throw this.fail(new MessageTimeoutError(`no message within ${this.timeoutMs} ms`))
      await this.waitForData(remaining, options.signal)
    }
  }

  /** One whole frame's body from the buffer, or `undefined` if it has not all arrived. */
  private takeFrame (): Uint8Array | undefined {
    let length = 0
    let prefixBytes = 0
    for (;;) {
      if (prefixBytes >= this.buffer.byteLength) {
        if (prefixBytes >= MAX_LENGTH_PREFIX_BYTES) throw this.fail(new MalformedMessageError('length prefix is too long'))
        return undefined
      }
      const byte = this.buffer.get(prefixBytes)
      length += (byte & 0x7f) * 2 ** (7 * prefixBytes)
      prefixBytes++
      if ((byte & 0x80) === 0) break
      if (prefixBytes >= MAX_LENGTH_PREFIX_BYTES) throw this.fail(new MalformedMessageError('length prefix is too long'))
    }
    if (length > this.maxMessageBytes) throw this.fail(new MessageTooLargeError(`message of ${length} bytes exceeds the ${this.maxMessageBytes}-byte limit`))
    if (this.buffer.byteLength < prefixBytes + length) return undefined
    const body = this.buffer.subarray(prefixBytes, prefixBytes + length)
    this.buffer.consume(prefixBytes + length)
    return body
  }

  /** True when no more data will come: the remote closed and the stream dispatched all it had buffered. */
  private ended (): boolean {
    if (this.stream.readBufferLength > 0) return false
    return this.stream.remoteWriteStatus !== 'writable' || this.stream.status === 'closed' || this.stream.status === 'aborted' || this.stream.status === 'reset'
  }

  private async waitForData (ms: number, signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted === true) throw this.fail(signal.reason as Error)
    let timer: NodeJS.Timeout | undefined
    let onAbort: (() => void) | undefined
    try {
      await new Promise<void>((resolve, reject) => {
        this.wake = resolve
        timer = setTimeout(resolve, ms)
        if (signal !== undefined) {
          onAbort = () => { reject(signal.reason) }
          signal.addEventListener('abort', onAbort, { once: true })
        }
      })
    } catch (err) {
      throw this.fail(err as Error)
    } finally {
      this.wake = undefined
      clearTimeout(timer)
      if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort)
    }
  }

  private fail (err: Error): Error {
    this.stream.abort(err)
    return err
  }
}

/** Limits of {@link writeMessage}. */
export interface WriteMessageOptions extends AbortOptions {
  /**
   * Largest message body sent (bytes).
   * @default 4194304
   */
  maxMessageBytes?: number
}

/**
 * Encodes `value` as DAG-CBOR and sends it length-prefixed, waiting for the
 * stream to drain when its buffer is full. Throws {@link MessageTooLargeError}
 * (before sending anything) when the encoding exceeds `maxMessageBytes`.
 */
export async function writeMessage (stream: Stream, value: unknown, options: WriteMessageOptions = {}): Promise<void> {
  const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES
  const body = dagCbor.encode(value)
  if (body.byteLength > maxMessageBytes) throw new MessageTooLargeError(`message of ${body.byteLength} bytes exceeds the ${maxMessageBytes}-byte limit`)
  await writeFrame(stream, body, options)
}

/** Sends already-encoded `body` length-prefixed (no size check: tests use it to send oversize frames). */
export async function writeFrame (stream: Stream, body: Uint8Array, options: AbortOptions = {}): Promise<void> {
  if (!stream.send(lp.encode.single(body))) await stream.onDrain(options)
}

/** Options of {@link readRequestFrame}. */
export interface ReadRequestFrameOptions {
  /** Largest body accepted (bytes). */
  maxBytes: number
  /** Time allowed for the whole frame to arrive (ms). */
  timeoutMs: number
  /** What is awaited, for error messages (e.g. "execution request"). */
  what: string
  /** The service stopping. */
  signal: AbortSignal
}

/**
 * Reads the one request frame a service expects at the start of a stream,
 * returning (not throwing) the failure so the service can answer it with a
 * named error before closing: {@link MalformedMessageError},
 * {@link MessageTooLargeError} (decided on the length prefix, before the body
 * is buffered), {@link UnexpectedEndOfStreamError}, {@link MessageTimeoutError}.
 * Unlike {@link MessageReader} it leaves the stream open.
 */
export async function readRequestFrame (stream: Stream, options: ReadRequestFrameOptions): Promise<{ bytes: Uint8Array } | { error: Error }> {
  const { maxBytes, timeoutMs, what, signal } = options
  const buffer = new Uint8ArrayList()
  let wake: (() => void) | undefined
  let closed = false
  const onMessage = (event: { data: Uint8Array | Uint8ArrayList }): void => {
    buffer.append(event.data)
    if (buffer.byteLength > maxBytes + MAX_LENGTH_PREFIX_BYTES) stream.pause()
    wake?.()
  }
  const onEnd = (): void => { closed = true; wake?.() }
  stream.addEventListener('message', onMessage)
  stream.addEventListener('close', onEnd)
  stream.addEventListener('remoteCloseWrite', onEnd)
  const deadline = Date.now() + timeoutMs
  try {
    for (;;) {
      let length = 0
      let prefixBytes = 0
      let complete = false
      while (prefixBytes < buffer.byteLength) {
        const byte = buffer.get(prefixBytes)
        length += (byte & 0x7f) * 2 ** (7 * prefixBytes)
        prefixBytes++
        if ((byte & 0x80) === 0) { complete = true; break }
        if (prefixBytes >= MAX_LENGTH_PREFIX_BYTES) return { error: new MalformedMessageError('length prefix is too long') }
      }
      if (complete) {
        if (length > maxBytes) return { error: new MessageTooLargeError(`${what} of ${length} bytes exceeds the ${maxBytes}-byte limit`) }
        if (buffer.byteLength >= prefixBytes + length) return { bytes: buffer.subarray(prefixBytes, prefixBytes + length) }
      }
      const ended = closed || (stream.readBufferLength === 0 && stream.remoteWriteStatus !== 'writable')
      if (ended) return { error: new UnexpectedEndOfStreamError(`stream closed before the ${what} arrived`) }
      const remaining = deadline - Date.now()
      if (remaining <= 0) return { error: new MessageTimeoutError(`no ${what} within ${timeoutMs} ms`) }
      if (signal.aborted) return { error: new MessageTimeoutError('the service is stopping') }
      await new Promise<void>(resolve => {
        const timer = setTimeout(resolve, remaining)
        wake = () => { clearTimeout(timer); resolve() }
      })
      wake = undefined
    }
  } finally {
    stream.removeEventListener('message', onMessage)
    stream.removeEventListener('close', onEnd)
    stream.removeEventListener('remoteCloseWrite', onEnd)
  }
}
