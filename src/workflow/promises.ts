/**
 * Promises in task inputs: `{"await/ok": link}`, `{"await/error": link}`,
 * `{"await/*": link}`, where the link is an instruction CID of the same workflow.
 */
import { CID } from 'multiformats/cid'
import { isIpldMap } from '../model/block.js'
import type { IpldValue } from '../model/types.js'
import type { AwaitSelector } from './types.js'

const SELECTORS = new Set<string>(['await/ok', 'await/error', 'await/*'])

/** A promise as found in a value, before the planner resolves its task. */
export interface FoundPromise {
  selector: AwaitSelector
  link: CID
  path: string
}

/**
 * Finds every promise in `value` (at any depth). Malformed promises (unknown
 * selector, extra keys, a target that is not a link) are reported to `onIssue`.
 */
export function findPromises (value: IpldValue, path: string, onIssue: (path: string, message: string) => void): FoundPromise[] {
  const found: FoundPromise[] = []
  const walk = (node: IpldValue, at: string): void => {
    if (Array.isArray(node)) { node.forEach((item, i) => walk(item, `${at}[${i}]`)); return }
    if (!isIpldMap(node)) return
    const keys = Object.keys(node)
    const awaitKeys = keys.filter(key => key.startsWith('await/'))
    if (awaitKeys.length === 0) {
      for (const key of keys) walk(node[key] as IpldValue, `${at}.${key}`)
      return
    }
    const key = awaitKeys[0] as string
    if (!SELECTORS.has(key)) { onIssue(`${at}.${key}`, `unknown promise "${key}" (expected await/ok, await/error or await/*)`); return }
    if (keys.length !== 1) { onIssue(at, `a promise is a map with the single key "${key}"; found ${keys.join(', ')}`); return }
    const link = CID.asCID(node[key])
    if (link === null) { onIssue(`${at}.${key}`, 'a promise must name an instruction as a link {"/": "InID"}'); return }
    found.push({ selector: key as AwaitSelector, link, path: `${at}.${key}` })
  }
  walk(value, path)
  return found
}

/**
 * A copy of `value` with every promise replaced by `resolve(link, selector)`.
 * `resolve` throws to fail the task (e.g. when the awaited task failed).
 */
export function substitutePromises (value: IpldValue, resolve: (link: CID, selector: AwaitSelector) => IpldValue): IpldValue {
  if (Array.isArray(value)) return value.map(item => substitutePromises(item, resolve))
  if (!isIpldMap(value)) return value
  const keys = Object.keys(value)
  if (keys.length === 1 && SELECTORS.has(keys[0] as string)) {
    const link = CID.asCID(value[keys[0] as string])
    if (link !== null) return resolve(link, keys[0] as AwaitSelector)
  }
  const copy: { [key: string]: IpldValue } = {}
  for (const key of keys) copy[key] = substitutePromises(value[key] as IpldValue, resolve)
  return copy
}
