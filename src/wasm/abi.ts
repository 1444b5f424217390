/**
 * The core-module ABI: how IPLD argument values become Wasm parameters and
 * Wasm results become IPLD values.
 *
 * - numbers (and booleans, as 0/1) pass as i32, i64, f32 or f64 by the
 *   function's signature; integers are range-checked, never silently wrapped;
 *   i64 values travel as exact integers (bigint where they exceed 2^53);
 * - strings (UTF-8) and bytes pass as two i32 parameters `(ptr, len)`: the
 *   module must export `memory` and `alloc(len) -> ptr`, and the host writes
 *   the bytes where `alloc` says;
 * - one result is the value, several are a list, none is `null`.
 */
import { TaskError } from '../errors.js'
import type { ExportSummary, ModuleSummary, SignatureSummary, ValueTypeName } from './meter/summary.js'

type FuncType = SignatureSummary
type ValueType = ValueTypeName

/**
 * Finds an export by the name a workflow gives, as Homestar does: the exact
 * name first, then with `_` and `-` swapped (`add_one` finds `add-one`).
 */
export function findExport (summary: Pick<ModuleSummary, 'exports'>, func: string): ExportSummary | undefined {
  const byName = (name: string): ExportSummary | undefined => summary.exports.find(e => e.name === name)
  return byName(func) ?? byName(func.replaceAll('_', '-')) ?? byName(func.replaceAll('-', '_'))
}

/** An argument as it reaches the worker: links are already resolved to bytes. */
export type WasmArgument = number | bigint | boolean | string | Uint8Array | null | WasmArgument[] | { [key: string]: WasmArgument }

/**
 * A task's result: what a core function returns (numbers, a list of them or
 * null), any IPLD value without links (the IPLD bytes ABI), or bytes (a WASI
 * command's stdout).
 */
export type WasmResult = number | bigint | boolean | string | Uint8Array | null | WasmResult[] | { [key: string]: WasmResult }

const I32_MIN = -(2 ** 31)
const U32_MAX = 2 ** 32 - 1
const I64_MIN = -(2n ** 63n)
const U64_MAX = 2n ** 64n - 1n
const textEncoder = new TextEncoder()

/** How a bytes argument is written into the guest, given its memory and allocator. */
export type BytesWriter = (bytes: Uint8Array, argumentIndex: number) => [ptr: number, len: number]

/** Describes an argument for error messages. */
function describe (value: WasmArgument): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'a list'
  if (value instanceof Uint8Array) return 'bytes'
  if (typeof value === 'object') return 'a map'
  if (typeof value === 'string') return 'a string'
  return `${typeof value === 'bigint' ? 'integer' : typeof value} ${String(value)}`
}

function signature (type: FuncType): string {
  return `(${type.params.join(', ')}) -> (${type.results.join(', ')})`
}

/** The number of parameters each argument takes: 2 for strings and bytes, 1 otherwise. */
function width (value: WasmArgument): number {
  return typeof value === 'string' || value instanceof Uint8Array ? 2 : 1
}

/**
 * Converts IPLD arguments to the JS values V8 passes as Wasm parameters of
 * `type`. Throws `TaskError('ArgumentError')` naming the argument and the
 * expected signature when count or types do not fit.
 */
export function toWasmParams (func: string, type: FuncType, args: WasmArgument[], writeBytes: BytesWriter | undefined): Array<number | bigint> {
  const needed = args.reduce<number>((sum, arg) => sum + width(arg), 0)
  if (needed !== type.params.length) {
    throw new TaskError('ArgumentError', `${func} has signature ${signature(type)}: it takes ${type.params.length} parameter(s), but the ${args.length} argument(s) given fill ${needed} (strings and bytes take two: ptr, len)`, { func })
  }
  const params: Array<number | bigint> = []
  let p = 0
  args.forEach((arg, index) => {
    const fail = (why: string): never => {
      throw new TaskError('ArgumentError', `argument ${index} of ${func} is ${describe(arg)}: ${why}`, { func, argument: index })
    }
    if (typeof arg === 'string' || arg instanceof Uint8Array) {
      if (type.params[p] !== 'i32' || type.params[p + 1] !== 'i32') fail(`strings and bytes pass as (ptr: i32, len: i32), but ${func} has ${signature(type)}`)
      if (writeBytes === undefined) fail(`passing bytes needs the module to export \`memory\` and \`alloc(len) -> ptr\``)
      const bytes = typeof arg === 'string' ? textEncoder.encode(arg) : arg
      const [ptr, len] = (writeBytes as BytesWriter)(bytes, index)
      params.push(ptr, len)
      p += 2
      return
    }
    const paramType = type.params[p++] as ValueType
    params.push(toParam(arg, paramType, fail))
  })
  return params
}

function toParam (arg: WasmArgument, type: ValueType, fail: (why: string) => never): number | bigint {
  if (typeof arg === 'boolean') arg = arg ? 1 : 0
  if (typeof arg !== 'number' && typeof arg !== 'bigint') return fail(`expected a number for ${type}`)
  switch (type) {
    case 'i32': {
      const n = typeof arg === 'bigint' ? Number(arg) : arg
      if (!Number.isInteger(n) || n < I32_MIN || n > U32_MAX) return fail('expected an integer in the i32 range')
      return n | 0
    }
    case 'i64': {
      if (typeof arg === 'number' && !Number.isSafeInteger(arg)) return fail('expected an exact integer for i64 (write integers over 2^53 without a fraction)')
      const n = BigInt(arg)
      if (n < I64_MIN || n > U64_MAX) return fail('expected an integer in the i64 range')
      return BigInt.asIntN(64, n)
    }
    case 'f32': case 'f64': {
      const n = Number(arg)
      if (typeof arg === 'bigint' && BigInt(n) !== arg) return fail(`integer does not fit ${type} exactly`)
      return n
    }
    default:
      return fail(`parameters of type ${type} are not supported`)
  }
}

/**
 * Converts what V8 returned into an IPLD value: i64 results within 2^53 become
 * numbers, larger ones stay bigint; NaN and infinities, which IPLD cannot
 * hold, are an `UnrepresentableResult` error.
 */
export function fromWasmResults (func: string, type: FuncType, value: unknown): WasmResult {
  if (type.results.length === 0) return null
  if (type.results.length === 1) return fromWasmValue(func, value)
  return (value as unknown[]).map(v => fromWasmValue(func, v))
}

function fromWasmValue (func: string, value: unknown): number | bigint {
  if (typeof value === 'bigint') {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) {
      throw new TaskError('UnrepresentableResult', `${func} returned ${String(value)}, which an IPLD value cannot hold`, { func })
    }
    return value
  }
  throw new TaskError('UnrepresentableResult', `${func} returned a ${typeof value}, which ipvm cannot represent`, { func })
}
