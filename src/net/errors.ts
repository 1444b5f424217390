/**
 * Errors of the network layer. Each has a fixed `name` that callers match on.
 */
import { IpvmError } from '../errors.js'

/** A framed message was larger than the reader's (or writer's) limit. */
export class MessageTooLargeError extends IpvmError {
  override name = 'MessageTooLargeError'
}

/** A framed message did not arrive within its timeout. */
export class MessageTimeoutError extends IpvmError {
  override name = 'MessageTimeoutError'
}

/** A framed message could not be decoded, or did not have the expected shape. */
export class MalformedMessageError extends IpvmError {
  override name = 'MalformedMessageError'
}

/** The remote end closed the stream before a message expected from it arrived. */
export class UnexpectedEndOfStreamError extends IpvmError {
  override name = 'UnexpectedEndOfStreamError'
}

/** A peer sent bytes whose hash does not match the CID they were asked for. */
export class InvalidBlockError extends IpvmError {
  override name = 'InvalidBlockError'
  readonly cid: string
  readonly peer: string

  constructor (cid: string, peer: string) {
    super(`peer ${peer} sent block ${cid} whose bytes do not match its CID`)
    this.cid = cid
    this.peer = peer
  }
}

/** No provider could give a block. `causes` holds each provider's failure. */
export class BlockFetchError extends IpvmError {
  override name = 'BlockFetchError'
  readonly cid: string
  readonly causes: Error[]

  constructor (cid: string, causes: Error[]) {
    const detail = causes.length === 0 ? 'no provider found' : causes.map(cause => `${cause.name}: ${cause.message}`).join('; ')
    super(`could not fetch block ${cid}: ${detail}`)
    this.cid = cid
    this.causes = causes
  }
}

/** A DHT record was unsigned, forged, or malformed. */
export class InvalidRecordError extends IpvmError {
  override name = 'InvalidRecordError'
}

/** A DHT record was looked up and none was found. */
export class RecordNotFoundError extends IpvmError {
  override name = 'RecordNotFoundError'
}

/** A DHT operation needs peers and the node's routing table is empty (not bootstrapped, or isolated). */
export class NoPeersError extends IpvmError {
  override name = 'NoPeersError'
}
