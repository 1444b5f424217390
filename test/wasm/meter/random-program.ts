/**
 * A generator of random, terminating, trap-free WebAssembly programs (as
 * WAT) for property tests: nested blocks, loops, ifs, br_if/br_table,
 * early returns, multi-value blocks, direct and indirect calls (to lower
 * indices only, so recursion is bounded), memory and bulk memory, globals,
 * and i32/i64/f64 arithmetic. NaNs may appear inside, but their bits never
 * reach an observation point (no f64.store, reinterpret or copysign), so an
 * original and an instrumented module must agree exactly.
 */

import { prng } from './helpers.js'

type ValueType = 'i32' | 'i64' | 'f64'
const TYPES: ValueType[] = ['i32', 'i64', 'f64']

/** Parameters of every generated function (uniform, so call_indirect types are simple). */
export const PARAMS: ValueType[] = ['i32', 'i64', 'f64']

/** A generated module. */
export interface RandomModule {
  /** WAT source. */
  wat: string
  /** Exported functions and their result types. */
  functions: Array<{ name: string, result: ValueType }>
}

class Generator {
  private readonly random: () => number
  private readonly results: ValueType[] = []
  private locals: ValueType[] = []
  private loopCounters = 0
  private labels = 0
  private current = 0
  private resultType: ValueType = 'i32'

  constructor (seed: number) {
    this.random = prng(seed)
  }

  private int (n: number): number {
    return Math.floor(this.random() * n)
  }

  private pick<T> (items: T[]): T {
    return items[this.int(items.length)] as T
  }

  private chance (p: number): boolean {
    return this.random() < p
  }

  private local (type: ValueType): string {
    const candidates: number[] = []
    this.locals.forEach((t, i) => { if (t === type) candidates.push(i) })
    return `(local.get ${this.pick(candidates)})`
  }

  private settableLocal (type: ValueType): number {
    const candidates: number[] = []
    // Parameters and declared value locals; loop counters live after them and are never picked.
    for (let i = 0; i < PARAMS.length + 6; i++) if (this.locals[i] === type) candidates.push(i)
    return this.pick(candidates)
  }

  private constant (type: ValueType): string {
    switch (type) {
      case 'i32': return `(i32.const ${this.pick([0, 1, -1, 7, 255, 0x7FFFFFFF, -0x80000000, this.int(1000) - 500])})`
      case 'i64': return `(i64.const ${this.pick(['0', '1', '-1', '42', '9223372036854775807', '-9223372036854775808', String(this.int(1e6))])})`
      case 'f64': return `(f64.const ${this.pick(['0', '-0', '1.5', '-2.25', '1e300', '-1e-300', 'inf', '-inf', 'nan', String(this.random() * 100 - 50)])})`
    }
  }

  private address (): string {
    return `(i32.and ${this.expr('i32', 1)} (i32.const 0xFFF8))`
  }

  /** A condition (i32). */
  private cond (depth: number): string {
    return this.expr('i32', Math.min(depth, 2))
  }

  expr (type: ValueType, depth: number): string {
    if (depth <= 0 || this.chance(0.25)) return this.chance(0.5) ? this.constant(type) : this.local(type)
    const d = depth - 1
    const choice = this.int(10)
    if (choice === 0) return `(select ${this.expr(type, d)} ${this.expr(type, d)} ${this.cond(d)})`
    if (choice === 1) return `(if (result ${type}) ${this.cond(d)} (then ${this.expr(type, d)}) (else ${this.expr(type, d)}))`
    if (choice === 2) return `(block (result ${type}) (drop (br_if 0 ${this.expr(type, d)} ${this.cond(d)})) ${this.expr(type, d)})`
    if (choice === 3 && this.current > 0) {
      const callee = this.int(this.current)
      const args = PARAMS.map(t => this.expr(t, Math.min(d, 1))).join(' ')
      const calleeResult = this.results[callee] as ValueType
      const call = this.chance(0.5)
        ? `(call $f${callee} ${args})`
        : `(call_indirect (type $t_${calleeResult}) ${args} (i32.const ${callee}))`
      return this.convert(calleeResult, type, call)
    }
    if (choice === 4) {
      const t = this.settableLocal(type)
      return `(local.tee ${t} ${this.expr(type, d)})`
    }
    switch (type) {
      case 'i32': {
        const k = this.int(6)
        if (k === 0) return `(i32.${this.pick(['eqz', 'clz', 'ctz', 'popcnt', 'extend8_s', 'extend16_s'])} ${this.expr('i32', d)})`
        if (k === 1) return `(i32.${this.pick(['div_u', 'rem_u'])} ${this.expr('i32', d)} (i32.or ${this.expr('i32', d)} (i32.const 1)))`
        if (k === 2) return `(i32.load${this.pick(['', '8_u', '16_s'])} ${this.address()})`
        if (k === 3) return this.pick([`(i32.wrap_i64 ${this.expr('i64', d)})`, `(i32.trunc_sat_f64_s ${this.expr('f64', d)})`, `(f64.${this.pick(['lt', 'eq', 'ne', 'ge'])} ${this.expr('f64', d)} ${this.expr('f64', d)})`, `(i64.${this.pick(['lt_s', 'eq', 'gt_u'])} ${this.expr('i64', d)} ${this.expr('i64', d)})`, '(global.get $g32)', '(memory.size)'])
        return `(i32.${this.pick(['add', 'sub', 'mul', 'and', 'or', 'xor', 'shl', 'shr_s', 'shr_u', 'rotl', 'rotr', 'eq', 'ne', 'lt_s', 'lt_u', 'gt_s', 'le_u', 'ge_s'])} ${this.expr('i32', d)} ${this.expr('i32', d)})`
      }
      case 'i64': {
        const k = this.int(5)
        if (k === 0) return `(i64.${this.pick(['clz', 'ctz', 'popcnt', 'extend32_s'])} ${this.expr('i64', d)})`
        if (k === 1) return `(i64.${this.pick(['div_u', 'rem_u'])} ${this.expr('i64', d)} (i64.or ${this.expr('i64', d)} (i64.const 1)))`
        if (k === 2) return `(i64.load${this.pick(['', '32_u', '8_s'])} ${this.address()})`
        if (k === 3) return this.pick([`(i64.extend_i32_${this.pick(['s', 'u'])} ${this.expr('i32', d)})`, `(i64.trunc_sat_f64_u ${this.expr('f64', d)})`, '(global.get $g64)'])
        return `(i64.${this.pick(['add', 'sub', 'mul', 'and', 'or', 'xor', 'shl', 'shr_s', 'shr_u', 'rotl'])} ${this.expr('i64', d)} ${this.expr('i64', d)})`
      }
      case 'f64': {
        const k = this.int(5)
        if (k === 0) return `(f64.${this.pick(['neg', 'abs', 'ceil', 'floor', 'trunc', 'nearest', 'sqrt'])} ${this.expr('f64', d)})`
        if (k === 1) return `(f64.load ${this.address()})`
        if (k === 2) return this.pick([`(f64.convert_i32_s ${this.expr('i32', d)})`, `(f64.convert_i64_u ${this.expr('i64', d)})`, `(f64.promote_f32 (f32.demote_f64 ${this.expr('f64', d)}))`, '(global.get $gf)'])
        return `(f64.${this.pick(['add', 'sub', 'mul', 'div', 'min', 'max'])} ${this.expr('f64', d)} ${this.expr('f64', d)})`
      }
    }
  }

  private convert (from: ValueType, to: ValueType, value: string): string {
    if (from === to) return value
    const table: Record<string, string> = {
      'i32>i64': `(i64.extend_i32_u ${value})`,
      'i32>f64': `(f64.convert_i32_s ${value})`,
      'i64>i32': `(i32.wrap_i64 ${value})`,
      'i64>f64': `(f64.convert_i64_s ${value})`,
      'f64>i32': `(i32.trunc_sat_f64_s ${value})`,
      'f64>i64': `(i64.trunc_sat_f64_s ${value})`
    }
    return table[`${from}>${to}`] as string
  }

  stmt (depth: number): string {
    const d = depth - 1
    const choice = depth <= 0 ? 0 : this.int(12)
    switch (choice) {
      case 0: case 1: {
        const type = this.pick(TYPES)
        return `(local.set ${this.settableLocal(type)} ${this.expr(type, 3)})`
      }
      case 2: return `(if ${this.cond(2)} (then ${this.stmts(d)}) (else ${this.stmts(d)}))`
      case 3: {
        if (this.loopCounters >= 3) return this.stmt(0)
        const counter = PARAMS.length + 6 + this.loopCounters++
        const label = `$l${this.labels++}`
        return `(local.set ${counter} (i32.const ${1 + this.int(6)})) (loop ${label} ${this.stmts(d)} (br_if ${label} (local.tee ${counter} (i32.sub (local.get ${counter}) (i32.const 1)))))`
      }
      case 4: {
        const label = `$b${this.labels++}`
        return `(block ${label} ${this.stmts(d)} (br_if ${label} ${this.cond(2)}) ${this.stmts(d)})`
      }
      case 5: {
        const outer = `$b${this.labels++}`
        const inner = `$b${this.labels++}`
        return `(block ${outer} (block ${inner} (br_table ${inner} ${outer} ${inner} (i32.and ${this.expr('i32', 2)} (i32.const 3))) ${this.stmts(d)}) ${this.stmts(d)})`
      }
      case 6: {
        const kind = this.pick(['i32.store', 'i32.store8', 'i64.store', 'i64.store32'])
        return `(${kind} ${this.address()} ${this.expr(kind.startsWith('i32') ? 'i32' : 'i64', 2)})`
      }
      case 7: return this.pick([`(global.set $g32 ${this.expr('i32', 2)})`, `(global.set $g64 ${this.expr('i64', 2)})`])
      case 8: return this.pick([
        `(memory.fill (i32.and ${this.expr('i32', 1)} (i32.const 0xFF00)) ${this.expr('i32', 1)} (i32.const ${this.int(200)}))`,
        `(memory.copy (i32.and ${this.expr('i32', 1)} (i32.const 0xFF00)) (i32.and ${this.expr('i32', 1)} (i32.const 0xFF00)) (i32.const ${this.int(200)}))`
      ])
      case 9: return `(if ${this.cond(2)} (then (return ${this.expr(this.resultType, 2)})))`
      case 10: {
        const a = this.settableLocal('i32')
        const b = this.settableLocal('i64')
        return `(block (result i32 i64) ${this.expr('i32', 2)} ${this.expr('i64', 2)}) (local.set ${b}) (local.set ${a})`
      }
      default: return `(drop ${this.expr(this.pick(TYPES), 3)})`
    }
  }

  private stmts (depth: number): string {
    const n = 1 + this.int(3)
    const out: string[] = []
    for (let i = 0; i < n; i++) out.push(this.stmt(depth))
    return out.join(' ')
  }

  module (functionCount: number): RandomModule {
    const functions: RandomModule['functions'] = []
    const bodies: string[] = []
    for (let f = 0; f < functionCount; f++) {
      this.current = f
      this.resultType = this.pick(TYPES)
      this.results.push(this.resultType)
      this.locals = [...PARAMS, 'i32', 'i64', 'f64', 'i32', 'i64', 'f64', 'i32', 'i32', 'i32']
      this.loopCounters = 0
      const body = `${this.stmts(3)} ${this.expr(this.resultType, 4)}`
      bodies.push(`(func $f${f} (export "f${f}") (type $t_${this.resultType}) (local i32 i64 f64 i32 i64 f64 i32 i32 i32) ${body})`)
      functions.push({ name: `f${f}`, result: this.resultType })
    }
    const wat = `(module
  (type $t_i32 (func (param i32 i64 f64) (result i32)))
  (type $t_i64 (func (param i32 i64 f64) (result i64)))
  (type $t_f64 (func (param i32 i64 f64) (result f64)))
  (memory (export "memory") 1 1)
  (global $g32 (mut i32) (i32.const 5))
  (global $g64 (mut i64) (i64.const 7))
  (global $gf f64 (f64.const 0.5))
  (table ${functionCount} funcref)
  (elem (i32.const 0) ${bodies.map((_b, i) => `$f${i}`).join(' ')})
  ${bodies.join('\n  ')})`
    return { wat, functions }
  }
}

/** Generates a random module of `functionCount` functions from `seed`. */
export function randomModule (seed: number, functionCount = 4): RandomModule {
  return new Generator(seed).module(functionCount)
}
