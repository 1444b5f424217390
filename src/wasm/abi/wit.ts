/**
 * The WIT types of a component's exported functions (read from the text
 * `componentWit` prints) and the conversion of IPLD values to and from the
 * JavaScript values jco's bindings take and return.
 *
 * IPLD ↔ WIT:
 *
 * | WIT | IPLD in | IPLD out |
 * |---|---|---|
 * | `s8`…`u32`, `float32`, `float64` | number (integers in range) | number |
 * | `s64`, `u64` | integer (number or bigint) | number when safe, else bigint |
 * | `bool`, `string` | boolean, string | same |
 * | `char` | a string of one code point | same |
 * | `list<u8>` | bytes (or a list of integers) | bytes |
 * | `list<T>`, `tuple<…>` | list | list |
 * | `option<T>` | null or the value | null or the value |
 * | `result<T, E>` | `{ok: T}` or `{err: E}` | `{ok: T}` (an `err` is a `ComponentError` task error) |
 * | `record` | map with the WIT field names | same |
 * | `variant` | `{case: payload}`, or the case name when it has none | same |
 * | `enum` | the case name | same |
 * | `flags` | list of the set flag names | same |
 */
import { TaskError } from '../../errors.js'
import type { WasmArgument, WasmResult } from '../abi.js'

/** A WIT type, resolved enough to convert values. */
export type WitType =
  | { kind: 'primitive', name: string }
  | { kind: 'list', element: WitType }
  | { kind: 'option', inner: WitType }
  | { kind: 'result', ok: WitType | undefined, err: WitType | undefined }
  | { kind: 'tuple', items: WitType[] }
  | { kind: 'named', name: string }

/** A named type definition. */
export type WitDefinition =
  | { kind: 'record', fields: Array<[string, WitType]> }
  | { kind: 'variant', cases: Array<[string, WitType | undefined]> }
  | { kind: 'enum', cases: string[] }
  | { kind: 'flags', flags: string[] }
  | { kind: 'alias', target: WitType }

/** An exported function of the world. */
export interface WitFunction {
  name: string
  params: Array<[string, WitType]>
  result: WitType | undefined
  /** The signature as WIT prints it, for messages. */
  signature: string
}

/** What conversion needs: the world's exported functions and every named type. */
export interface WitWorld {
  functions: WitFunction[]
  types: Map<string, WitDefinition>
}

const PRIMITIVES = new Set(['s8', 's16', 's32', 's64', 'u8', 'u16', 'u32', 'u64', 'float32', 'float64', 'f32', 'f64', 'bool', 'char', 'string'])

function tokenize (text: string): string[] {
  const tokens: string[] = []
  const pattern = /\/\/[^\n]*|\/\*[\s\S]*?\*\/|->|%?[A-Za-z_][A-Za-z0-9_-]*|[0-9][0-9A-Za-z.+-]*|[{}()<>,:;=@/.*_]|\s+/g
  for (const match of text.matchAll(pattern)) {
    const token = match[0]
    if (/^\s/.test(token) || token.startsWith('//') || token.startsWith('/*')) continue
    tokens.push(token.startsWith('%') ? token.slice(1) : token)
  }
  return tokens
}

/**
 * Reads the exported functions of the (first) world and every type
 * definition from WIT text such as `componentWit` prints.
 */
export function parseWit (text: string): WitWorld {
  const tokens = tokenize(text)
  let at = 0
  const peek = (): string | undefined => tokens[at]
  const next = (): string => {
    const token = tokens[at++]
    if (token === undefined) throw new TaskError('InvalidModule', 'the component\'s WIT ends early')
    return token
  }
  const expect = (token: string): void => {
    const got = next()
    if (got !== token) throw new TaskError('InvalidModule', `the component's WIT has ${got} where ${token} was expected`)
  }
  const parseType = (): WitType => {
    const name = next()
    const generic = (): WitType[] => {
      const items: WitType[] = []
      expect('<')
      while (peek() !== '>') {
        items.push(peek() === '_' ? (next(), { kind: 'primitive', name: '_' }) : parseType())
        if (peek() === ',') next()
      }
      expect('>')
      return items
    }
    switch (name) {
      case 'list': return { kind: 'list', element: generic()[0] as WitType }
      case 'option': return { kind: 'option', inner: generic()[0] as WitType }
      case 'tuple': return { kind: 'tuple', items: generic() }
      case 'result': {
        if (peek() !== '<') return { kind: 'result', ok: undefined, err: undefined }
        const [ok, err] = generic()
        const unit = (type: WitType | undefined): WitType | undefined => type?.kind === 'primitive' && type.name === '_' ? undefined : type
        return { kind: 'result', ok: unit(ok), err: unit(err) }
      }
      case 'borrow': case 'own': case 'future': case 'stream':
        throw new TaskError('UnsupportedFeature', `the component uses ${name}<…> in an exported function, which the ipvm component ABI does not serve`, { feature: name })
    }
    return PRIMITIVES.has(name) ? { kind: 'primitive', name: name === 'f32' ? 'float32' : name === 'f64' ? 'float64' : name } : { kind: 'named', name }
  }
  const parseFunc = (): Pick<WitFunction, 'params' | 'result'> => {
    if (peek() === 'async') next()
    expect('func')
    expect('(')
    const params: Array<[string, WitType]> = []
    while (peek() !== ')') {
      const name = next()
      expect(':')
      params.push([name, parseType()])
      if (peek() === ',') next()
    }
    expect(')')
    let result: WitType | undefined
    if (peek() === '->') {
      next()
      result = parseType()
    }
    return { params, result }
  }
  const skipToSemicolon = (): void => {
    while (at < tokens.length && next() !== ';') { /* skip */ }
  }
  const types = new Map<string, WitDefinition>()
  const functions: WitFunction[] = []
  const definitions = ['record', 'variant', 'enum', 'flags', 'type', 'resource']
  let worldSeen = false
  let depth = 0
  let inWorld = false
  while (at < tokens.length) {
    const token = next()
    if (token === '{') { depth++; continue }
    if (token === '}') {
      depth--
      if (depth === 0 && inWorld) { inWorld = false; worldSeen = true }
      continue
    }
    if (token === 'world' && !worldSeen && peek() !== undefined) {
      next()
      inWorld = true
      continue
    }
    if (definitions.includes(token) && peek() !== ':') {
      const name = next()
      if (token === 'type') {
        expect('=')
        types.set(name, { kind: 'alias', target: parseType() })
        expect(';')
      } else if (token === 'resource') {
        if (peek() === ';') next()
        else { expect('{'); let nested = 1; while (nested > 0) { const t = next(); if (t === '{') nested++; if (t === '}') nested-- } }
      } else {
        expect('{')
        if (token === 'record') {
          const fields: Array<[string, WitType]> = []
          while (peek() !== '}') { const field = next(); expect(':'); fields.push([field, parseType()]); if (peek() === ',') next() }
          types.set(name, { kind: 'record', fields })
        } else if (token === 'variant') {
          const cases: Array<[string, WitType | undefined]> = []
          while (peek() !== '}') {
            const label = next()
            let payload: WitType | undefined
            if (peek() === '(') { next(); payload = parseType(); expect(')') }
            cases.push([label, payload])
            if (peek() === ',') next()
          }
          types.set(name, { kind: 'variant', cases })
        } else {
          const names: string[] = []
          while (peek() !== '}') { names.push(next()); if (peek() === ',') next() }
          types.set(name, token === 'enum' ? { kind: 'enum', cases: names } : { kind: 'flags', flags: names })
        }
        expect('}')
      }
      continue
    }
    if (inWorld && depth === 1 && token === 'export') {
      const name = next()
      if (peek() === ':' && (tokens[at + 1] === 'func' || tokens[at + 1] === 'async')) {
        next()
        const func = parseFunc()
        const signature = `${name}: func(${func.params.map(([param, type]) => `${param}: ${printType(type)}`).join(', ')})${func.result === undefined ? '' : ` -> ${printType(func.result)}`}`
        functions.push({ name, ...func, signature })
        expect(';')
      } else {
        skipToSemicolon()
      }
      continue
    }
  }
  return { functions, types }
}

/** `camelCase` of a WIT kebab-case name, as jco names record fields and functions. */
export function camelCase (name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase())
}

/** Prints a type the way WIT writes it. */
export function printType (type: WitType | undefined): string {
  if (type === undefined) return '_'
  switch (type.kind) {
    case 'primitive': return type.name
    case 'named': return type.name
    case 'list': return `list<${printType(type.element)}>`
    case 'option': return `option<${printType(type.inner)}>`
    case 'tuple': return `tuple<${type.items.map(printType).join(', ')}>`
    case 'result': return type.ok === undefined && type.err === undefined ? 'result' : `result<${printType(type.ok)}, ${printType(type.err)}>`
  }
}

/** A type with names and aliases followed to their definition. */
type Resolved = Exclude<WitType, { kind: 'named' }> | Exclude<WitDefinition, { kind: 'alias' }>

const INTEGER_RANGES: Record<string, [bigint, bigint]> = {
  s8: [-(2n ** 7n), 2n ** 7n - 1n],
  s16: [-(2n ** 15n), 2n ** 15n - 1n],
  s32: [-(2n ** 31n), 2n ** 31n - 1n],
  s64: [-(2n ** 63n), 2n ** 63n - 1n],
  u8: [0n, 2n ** 8n - 1n],
  u16: [0n, 2n ** 16n - 1n],
  u32: [0n, 2n ** 32n - 1n],
  u64: [0n, 2n ** 64n - 1n]
}

const describe = (value: unknown): string => {
  if (value === null) return 'null'
  if (value instanceof Uint8Array) return `bytes (${value.byteLength})`
  if (Array.isArray(value)) return `a list of ${value.length}`
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`
  if (typeof value === 'object') return `a map {${Object.keys(value).slice(0, 5).join(', ')}}`
  return `${typeof value} ${String(value)}`
}

const isMap = (value: unknown): value is Record<string, WasmArgument> =>
  value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Uint8Array)

/** Converts IPLD values and jco values for one world. Errors name the path and the expected type; the caller adds the signature. */
export class WitConverter {
  constructor (private readonly types: ReadonlyMap<string, WitDefinition>) {}

  private resolve (type: WitType, path: string): Resolved {
    let current: WitType | WitDefinition = type
    for (let hops = 0; current.kind === 'named' || current.kind === 'alias'; hops++) {
      if (hops > 64) throw new TaskError('UnsupportedFeature', `type ${printType(type)} at ${path} is an alias cycle`)
      if (current.kind === 'alias') { current = current.target; continue }
      const found = this.types.get(current.name)
      if (found === undefined) throw new TaskError('UnsupportedFeature', `type ${current.name} at ${path} is not defined in the component's WIT`)
      current = found
    }
    return current
  }

  private fail (path: string, expected: string, value: unknown): never {
    throw new TaskError('ArgumentError', `${path} must be ${expected}, got ${describe(value)}`)
  }

  /** IPLD → the JS value jco's binding takes. */
  toGuest (type: WitType, value: WasmArgument | undefined, path: string): unknown {
    const resolved = this.resolve(type, path)
    switch (resolved.kind) {
      case 'primitive': {
        const name = resolved.name
        const range = INTEGER_RANGES[name]
        if (range !== undefined) {
          const wide = name.endsWith('64')
          if (typeof value === 'number' && Number.isInteger(value)) {
            const big = BigInt(value)
            if (big < range[0] || big > range[1]) this.fail(path, `a ${name} (${range[0]}..${range[1]})`, value)
            return wide ? big : value
          }
          if (typeof value === 'bigint') {
            if (value < range[0] || value > range[1]) this.fail(path, `a ${name} (${range[0]}..${range[1]})`, value)
            return wide ? value : Number(value)
          }
          return this.fail(path, `an integer (${name})`, value)
        }
        if (name === 'float32' || name === 'float64') {
          if (typeof value === 'number') return value
          if (typeof value === 'bigint') return Number(value)
          return this.fail(path, `a number (${name})`, value)
        }
        if (name === 'bool') return typeof value === 'boolean' ? value : this.fail(path, 'a boolean', value)
        if (name === 'string') return typeof value === 'string' ? value : this.fail(path, 'a string', value)
        if (name === 'char') return typeof value === 'string' && [...value].length === 1 ? value : this.fail(path, 'a string of one character (char)', value)
        return this.fail(path, name, value)
      }
      case 'list': {
        const element = this.resolve(resolved.element, path)
        if (element.kind === 'primitive' && element.name === 'u8') {
          if (value instanceof Uint8Array) return value
          if (Array.isArray(value)) return Uint8Array.from(value.map((item, index) => this.toGuest(resolved.element, item, `${path}[${index}]`) as number))
          return this.fail(path, 'bytes (list<u8>)', value)
        }
        if (!Array.isArray(value)) return this.fail(path, `a list (${printType(resolved)})`, value)
        return value.map((item, index) => this.toGuest(resolved.element, item, `${path}[${index}]`))
      }
      case 'tuple': {
        if (!Array.isArray(value) || value.length !== resolved.items.length) return this.fail(path, `a list of ${resolved.items.length} (${printType(resolved)})`, value)
        return resolved.items.map((item, index) => this.toGuest(item, value[index], `${path}[${index}]`))
      }
      case 'option': {
        if (value === null || value === undefined) return this.nestedOption(resolved.inner, path) ? { tag: 'none' } : undefined
        const inner = this.toGuest(resolved.inner, value, path)
        return this.nestedOption(resolved.inner, path) ? { tag: 'some', val: inner } : inner
      }
      case 'result': {
        if (!isMap(value) || Object.keys(value).length !== 1 || !('ok' in value || 'err' in value)) return this.fail(path, `{ok: …} or {err: …} (${printType(resolved)})`, value)
        if ('ok' in value) return { tag: 'ok', val: resolved.ok === undefined ? undefined : this.toGuest(resolved.ok, value.ok, `${path}.ok`) }
        return { tag: 'err', val: resolved.err === undefined ? undefined : this.toGuest(resolved.err, value.err, `${path}.err`) }
      }
      case 'record': {
        if (!isMap(value)) return this.fail(path, `a map with ${resolved.fields.map(f => f[0]).join(', ')}`, value)
        const known = new Set(resolved.fields.map(f => f[0]))
        const extra = Object.keys(value).find(key => !known.has(key))
        if (extra !== undefined) this.fail(path, `a map with only ${[...known].join(', ')} (unknown field ${extra})`, value)
        const out: Record<string, unknown> = {}
        for (const [field, fieldType] of resolved.fields) out[camelCase(field)] = this.toGuest(fieldType, value[field], `${path}.${field}`)
        return out
      }
      case 'variant': {
        const names = resolved.cases.map(c => c[0])
        if (typeof value === 'string') {
          const found = resolved.cases.find(c => c[0] === value)
          if (found === undefined || found[1] !== undefined) return this.fail(path, `one of ${names.join(', ')} (a case without payload as a string, with one as {case: payload})`, value)
          return { tag: value }
        }
        if (!isMap(value) || Object.keys(value).length !== 1) return this.fail(path, `{case: payload} with a case of ${names.join(', ')}`, value)
        const [label, payload] = Object.entries(value)[0] as [string, WasmArgument]
        const found = resolved.cases.find(c => c[0] === label)
        if (found === undefined) return this.fail(path, `a case of ${names.join(', ')}`, value)
        return found[1] === undefined ? { tag: label } : { tag: label, val: this.toGuest(found[1], payload, `${path}.${label}`) }
      }
      case 'enum':
        return typeof value === 'string' && resolved.cases.includes(value) ? value : this.fail(path, `one of ${resolved.cases.join(', ')}`, value)
      case 'flags': {
        if (!Array.isArray(value) || !value.every(flag => typeof flag === 'string' && resolved.flags.includes(flag))) return this.fail(path, `a list of flags from ${resolved.flags.join(', ')}`, value)
        return Object.fromEntries(resolved.flags.map(flag => [camelCase(flag), value.includes(flag)]))
      }
    }
  }

  private nestedOption (inner: WitType, path: string): boolean {
    return this.resolve(inner, path).kind === 'option'
  }

  /** The JS value jco's binding returned → IPLD. */
  fromGuest (type: WitType, value: unknown, path: string): WasmResult {
    const resolved = this.resolve(type, path)
    const invalid = (expected: string): never => {
      throw new TaskError('InvalidOutput', `${path} should be ${expected}, the binding returned ${describe(value)}`)
    }
    switch (resolved.kind) {
      case 'primitive': {
        if (resolved.name.endsWith('64') && !resolved.name.startsWith('float')) {
          if (typeof value !== 'bigint') return invalid(resolved.name)
          return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value
        }
        if (resolved.name === 'float32' || resolved.name === 'float64') {
          if (typeof value !== 'number') return invalid(resolved.name)
          if (!Number.isFinite(value)) throw new TaskError('UnrepresentableResult', `${path} is ${value}, which IPLD cannot represent`)
          return value
        }
        if (['number', 'boolean', 'string'].includes(typeof value)) return value as WasmResult
        return invalid(resolved.name)
      }
      case 'list': {
        if (value instanceof Uint8Array) return value.slice()
        if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<number>)
        if (!Array.isArray(value)) return invalid(printType(resolved))
        return value.map((item, index) => this.fromGuest(resolved.element, item, `${path}[${index}]`))
      }
      case 'tuple':
        if (!Array.isArray(value)) return invalid(printType(resolved))
        return resolved.items.map((item, index) => this.fromGuest(item, value[index], `${path}[${index}]`))
      case 'option': {
        if (this.nestedOption(resolved.inner, path)) {
          const tagged = value as { tag?: string, val?: unknown }
          return tagged?.tag === 'some' ? this.fromGuest(resolved.inner, tagged.val, path) : null
        }
        return value === undefined || value === null ? null : this.fromGuest(resolved.inner, value, path)
      }
      case 'result': {
        const tagged = value as { tag?: string, val?: unknown }
        if (tagged?.tag === 'ok') return { ok: resolved.ok === undefined ? null : this.fromGuest(resolved.ok, tagged.val, `${path}.ok`) }
        if (tagged?.tag === 'err') return { err: resolved.err === undefined ? null : this.fromGuest(resolved.err, tagged.val, `${path}.err`) }
        return invalid(printType(resolved))
      }
      case 'record': {
        if (!isMap(value)) return invalid('a record')
        const out: Record<string, WasmResult> = {}
        for (const [field, fieldType] of resolved.fields) out[field] = this.fromGuest(fieldType, value[camelCase(field)], `${path}.${field}`)
        return out
      }
      case 'variant': {
        const tagged = value as { tag?: string, val?: unknown }
        const found = resolved.cases.find(c => c[0] === tagged?.tag)
        if (found === undefined) return invalid(`a case of ${resolved.cases.map(c => c[0]).join(', ')}`)
        return found[1] === undefined ? found[0] : { [found[0]]: this.fromGuest(found[1], tagged.val, `${path}.${found[0]}`) }
      }
      case 'enum':
        return typeof value === 'string' ? value : invalid('an enum case')
      case 'flags':
        if (!isMap(value)) return invalid('flags')
        return resolved.flags.filter(flag => value[camelCase(flag)] === true)
    }
  }
}
