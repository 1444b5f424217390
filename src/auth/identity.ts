/**
 * The node's identity: one ed25519 key gives both its `did:key` (UCAN issuer,
 * receipt signer) and its libp2p PeerId. The key lives in the repository as
 * `identity.key`: the libp2p protobuf encoding of the private key (the format
 * libp2p and Kubo use), mode 0600, created atomically on first use, never
 * logged. A key file readable by group or others is refused.
 */
import { mkdir, open, link, rename, unlink, stat, readFile } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { generateKeyPairFromSeed, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { Ed25519Signer } from './ed25519.js'
import { InsecureKeyFile, InvalidKeyFile } from './errors.js'
import type { DID } from './types.js'

/** Name of the key file inside the repository directory. */
export const IDENTITY_FILE = 'identity.key'

// Wrappers that pin the overloads, so the libp2p types are named without importing @libp2p/interface.
async function ed25519PrivateKey (seed: Uint8Array) { return await generateKeyPairFromSeed('Ed25519', seed) }
function ed25519PeerId (key: Libp2pPrivateKey) { return peerIdFromPrivateKey(key) }

/** libp2p's Ed25519 private key (what `createLibp2p({ privateKey })` takes). */
export type Libp2pPrivateKey = Awaited<ReturnType<typeof ed25519PrivateKey>>
/** libp2p's Ed25519 PeerId. */
export type PeerId = ReturnType<typeof ed25519PeerId>

/** A node's identity: one key, two names. */
export interface NodeIdentity {
  /** The `did:key` of the key (`did:key:z6Mk…`). */
  did: DID
  /** The libp2p PeerId of the same key (`12D3KooW…`). */
  peerId: PeerId
  /** Signs delegations, invocations and receipts (node:crypto, ucanto-compatible). */
  signer: Ed25519Signer
  /** The same key for libp2p: pass it as `createLibp2p({ privateKey })`. */
  privateKey: Libp2pPrivateKey
}

/** A loaded identity and where it came from. */
export interface LoadedIdentity extends NodeIdentity {
  /** Path of the key file. */
  keyFile: string
  /** True when this call created the key. */
  created: boolean
}

/**
 * The identity of a 32-byte ed25519 seed. Checks that the DID and the PeerId
 * name the same public key.
 */
export async function identityFromSeed (seed: Uint8Array): Promise<NodeIdentity> {
  const signer = Ed25519Signer.fromSeed(seed)
  const privateKey = await ed25519PrivateKey(seed)
  if (!equalBytes(privateKey.publicKey.raw, signer.publicKey)) throw new Error('libp2p and node:crypto derived different ed25519 public keys')
  return { did: signer.did(), peerId: ed25519PeerId(privateKey), signer, privateKey }
}

/**
 * Loads the node identity from `home/identity.key`, creating the key on first
 * use (mode 0600, written to a temporary file, synced, then linked into place,
 * so a crash or a concurrent start never leaves a partial or second key).
 * `home` is created with mode 0700 when missing.
 *
 * Throws {@link InsecureKeyFile} when the file is readable by group or others,
 * {@link InvalidKeyFile} when it is not an ed25519 libp2p private key.
 *
 * @example
 * ```ts
 * const identity = await loadOrCreateIdentity(repoPath(flag, env))
 * identity.did               // did:key:z6Mk…
 * identity.peerId.toString() // 12D3KooW…
 * ```
 */
export async function loadOrCreateIdentity (home: string): Promise<LoadedIdentity> {
  const keyFile = join(home, IDENTITY_FILE)
  const existing = await loadIdentityFile(keyFile)
  if (existing !== undefined) return { ...existing, keyFile, created: false }
  await mkdir(home, { recursive: true, mode: 0o700 })
  const seed = randomBytes(32)
  const identity = await identityFromSeed(seed)
  const created = await writeExclusive(keyFile, privateKeyToProtobuf(identity.privateKey))
  if (created) return { ...identity, keyFile, created: true }
  // Another process created the key between our read and our write: use theirs.
  const theirs = await loadIdentityFile(keyFile)
  if (theirs === undefined) throw new InvalidKeyFile(keyFile, 'it disappeared while being created')
  return { ...theirs, keyFile, created: false }
}

/**
 * Loads an existing identity key file; `undefined` when there is none.
 * Throws {@link InsecureKeyFile} or {@link InvalidKeyFile}.
 */
export async function loadIdentityFile (keyFile: string): Promise<NodeIdentity | undefined> {
  let info
  try {
    info = await stat(keyFile)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new InvalidKeyFile(keyFile, (err as Error).message)
  }
  if (!info.isFile()) throw new InvalidKeyFile(keyFile, 'it is not a regular file')
  // Windows has no POSIX modes; everywhere else, group/other bits must be clear.
  if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) throw new InsecureKeyFile(keyFile, info.mode)
  const bytes = await readFile(keyFile)
  let key
  try {
    key = privateKeyFromProtobuf(bytes)
  } catch {
    throw new InvalidKeyFile(keyFile, 'it is not a libp2p protobuf private key')
  }
  if (key.type !== 'Ed25519') throw new InvalidKeyFile(keyFile, `it holds a ${key.type} key; ipvm node identities are Ed25519`)
  return await identityFromSeed(key.raw.subarray(0, 32))
}

/** Writes `bytes` to `path` with mode 0600 unless `path` exists; false when it already did. */
async function writeExclusive (path: string, bytes: Uint8Array): Promise<boolean> {
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`
  const handle = await open(temporary, 'wx', 0o600)
  try {
    await handle.writeFile(bytes)
    await handle.sync()
  } finally {
    await handle.close()
  }
  try {
    // link() fails with EEXIST instead of replacing: two nodes starting at once keep one key.
    await link(temporary, path)
    return true
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EEXIST') return false
    // Filesystems without hard links: fall back to rename (atomic, but last writer wins).
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP') {
      await rename(temporary, path)
      return true
    }
    throw err
  } finally {
    await unlink(temporary).catch(() => {})
    await syncDirectory(path)
  }
}

async function syncDirectory (path: string): Promise<void> {
  try {
    const dir = await open(join(path, '..'), 'r')
    try { await dir.sync() } finally { await dir.close() }
  } catch {
    // Not every platform can fsync a directory; the key is synced already.
  }
}

function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
