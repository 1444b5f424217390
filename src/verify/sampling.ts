/**
 * Unpredictable sampling. A verifier checks a receipt when
 * `HMAC-SHA256(secret, receipt CID) / 2^64 < p`: the secret never leaves the
 * verifier, so when an executor signs a receipt it cannot know whether it will
 * be checked, and since the receipt's CID covers its signature, no choice of
 * output steers the draw. Verifiers with different secrets sample
 * independently; a verifier's own draws are reproducible (the same receipt is
 * always chosen or always not), so a restart does not re-roll.
 */
import { createHmac, randomBytes } from 'node:crypto'
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { InputError } from '../errors.js'
import type { CID } from 'multiformats/cid'

/** Bytes of a sampling secret. */
export const SAMPLING_SECRET_BYTES = 32

/** Checks a sample rate: a number in [0, 1]. */
export function checkSampleRate (rate: number): number {
  if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0 || rate > 1) throw new RangeError(`the sample rate must be a number from 0 to 1, got ${String(rate)}`)
  return rate
}

/** Chooses receipts to check with probability `rate`, keyed by a secret. */
export class Sampler {
  readonly rate: number
  private readonly secret: Uint8Array

  constructor (secret: Uint8Array, rate: number) {
    if (secret.byteLength < 16) throw new RangeError('a sampling secret has at least 16 bytes')
    this.secret = Uint8Array.from(secret)
    this.rate = checkSampleRate(rate)
  }

  /** A draw in [0, 1) for `receipt`, uniform for whoever does not know the secret. */
  draw (receipt: CID): number {
    const mac = createHmac('sha256', this.secret).update(receipt.bytes).digest()
    return Number(mac.readBigUInt64BE(0) >> 11n) / 2 ** 53
  }

  /** True when `receipt` is to be checked. */
  chooses (receipt: CID): boolean {
    return this.rate >= 1 || this.draw(receipt) < this.rate
  }
}

/**
 * The verifier's sampling secret at `path`: read, or created (random, file
 * mode 0600) when absent. `InputError` when the file is unreadable or short.
 */
export async function loadSamplingSecret (path: string): Promise<Uint8Array> {
  try {
    const bytes = await readFile(path)
    if (bytes.byteLength < SAMPLING_SECRET_BYTES) throw new InputError(`the sampling secret ${path} is ${bytes.byteLength} bytes; it needs ${SAMPLING_SECRET_BYTES} (delete it to make a new one)`)
    return new Uint8Array(bytes)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      if (err instanceof InputError) throw err
      throw new InputError(`cannot read the sampling secret ${path}: ${(err as Error).message}`)
    }
  }
  const secret = randomBytes(SAMPLING_SECRET_BYTES)
  await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  await writeFile(path, secret, { mode: 0o600, flag: 'wx' }).catch(async err => {
    // Another process made it first: use theirs.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return
    throw err
  })
  await chmod(path, 0o600)
  return new Uint8Array(await readFile(path))
}
