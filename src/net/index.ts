/**
 * The network layer: the libp2p node, wire framing, block exchange, role
 * discovery and signed DHT records.
 */
export * from './constants.js'
export * from './errors.js'
export { createIpvmNode, isLoopback } from './node.js'
export type { IpvmNode, IpvmNodeInit, IpvmServices } from './node.js'
export { MessageReader, writeMessage, writeFrame } from './framing.js'
export type { MessageReaderInit, WriteMessageOptions } from './framing.js'
export { BlockExchange, blockMatches } from './protocols/blocks.js'
export type { BlockExchangeInit, BlockExchangeNode, BlockRequest, BlockResponse } from './protocols/blocks.js'
export { NetworkBlocks } from './network-blocks.js'
export type { NetworkBlocksInit } from './network-blocks.js'
export { advertiseRole, findPeersByRole, roleCid, ROLES } from './discovery.js'
export type { Role, FindRoleOptions } from './discovery.js'
export { putSignedRecord, getSignedRecord, signRecord, verifySignedRecord, validateSignedRecord, selectSignedRecord, recordKey } from './records.js'
export type { SignedRecord, PutRecordOptions } from './records.js'
export * from './protocols/execute.js'
