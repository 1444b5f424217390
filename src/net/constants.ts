/**
 * Named defaults of the network layer. Every limit that protects a node from
 * its peers lives here.
 */

/** Prefix of every ipvm protocol: keeps the ipvm DHT apart from the public IPFS one. */
export const PROTOCOL_PREFIX = '/ipvm'

/** The ipvm Kademlia DHT protocol. */
export const DHT_PROTOCOL = `${PROTOCOL_PREFIX}/kad/1.0.0`

/** The block-exchange protocol. */
export const BLOCKS_PROTOCOL = `${PROTOCOL_PREFIX}/blocks/1.0.0`

/** Addresses a node listens on when none are given: every IPv4 interface, an OS-chosen port. */
export const DEFAULT_LISTEN_ADDRESSES: readonly string[] = ['/ip4/0.0.0.0/tcp/0']

/** Most open connections a node keeps. */
export const DEFAULT_MAX_CONNECTIONS = 100

/** Most inbound connections being upgraded at once. */
export const DEFAULT_MAX_INCOMING_PENDING_CONNECTIONS = 10

/** Time allowed to dial one bootstrap peer at start (ms). */
export const DEFAULT_BOOTSTRAP_DIAL_TIMEOUT_MS = 10_000

/** Largest framed message read or written by default (bytes): 4 MiB. */
export const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024

/** Time allowed for each framed message to arrive (ms). */
export const DEFAULT_MESSAGE_TIMEOUT_MS = 10_000

/** Largest block served or fetched (bytes): 2 MiB, the IPFS block-size convention plus room. */
export const MAX_BLOCK_BYTES = 2 * 1024 * 1024

/** Most CIDs asked for in one block request. */
export const MAX_BLOCKS_PER_REQUEST = 64

/** Most providers a fetch tries before giving up. */
export const DEFAULT_MAX_PROVIDERS_TRIED = 5

/** Time allowed for a whole DHT query (provide, findProviders, put, get) (ms). */
export const DEFAULT_DHT_QUERY_TIMEOUT_MS = 30_000

/** Most concurrent inbound block-exchange streams per connection. */
export const BLOCKS_MAX_INBOUND_STREAMS = 32

/** Most concurrent outbound block-exchange streams per connection. */
export const BLOCKS_MAX_OUTBOUND_STREAMS = 32

/** Largest signed DHT record value (bytes). */
export const MAX_SIGNED_RECORD_BYTES = 16 * 1024

/** Prefix hashed with a role name to give the CID a role is advertised under. */
export const ROLE_KEY_PREFIX = 'ipvm-role:'

/** DHT key namespace (first path segment) of ipvm signed records. */
export const RECORD_NAMESPACE = 'ipvm'
