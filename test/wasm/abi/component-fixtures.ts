/**
 * A test component built without Rust: a core module in WAT that follows the
 * canonical ABI, its WIT embedded with jco's `componentEmbed`, made a
 * component with `componentNew`.
 */
import { componentEmbed, componentNew, parse } from '@bytecodealliance/jco'

/** The WIT of the demo component (and the host interfaces it imports). */
export const DEMO_WIT = `package ipvm:test;

world demo {
  import wasi:logging/logging@0.1.0-draft;
  import homestar:host/helpers@0.0.1;

  export add-one: func(a: s32) -> s32;
  export greet: func(name: string) -> string;
  export echo: func(data: list<u8>) -> list<u8>;
  export maybe-double: func(x: option<s32>) -> result<s32, string>;
  export now: func() -> u64;
  export spin: func(n: u32) -> u32;
  export crash: func();
}

package homestar:host@0.0.1 {
  interface helpers {
    record time { seconds: u64, milliseconds: u32 }
    get-current-time: func() -> time;
    print: func(msg: string);
  }
}

package wasi:logging@0.1.0-draft {
  interface logging {
    enum level { trace, debug, info, warn, error, critical }
    log: func(level: level, context: string, message: string);
  }
}
`

/** The core module, following the canonical ABI by hand. */
export const DEMO_WAT = `(module
  (import "wasi:logging/logging@0.1.0-draft" "log" (func $log (param i32 i32 i32 i32 i32)))
  (import "homestar:host/helpers@0.0.1" "get-current-time" (func $time (param i32)))
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 4096))
  (data (i32.const 16) "hello, ")
  (data (i32.const 32) "none")
  (data (i32.const 48) "greet")
  ;; bump allocator: cabi_realloc(old, old_size, align, new_size)
  (func $realloc (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (local $p i32)
    global.get $heap
    local.get 2 i32.const 1 i32.sub i32.add
    i32.const 0 local.get 2 i32.sub i32.and
    local.tee $p local.get 3 i32.add
    ;; grow memory when needed
    memory.size i32.const 16 i32.shl
    i32.gt_u
    if
      local.get $p local.get 3 i32.add i32.const 16 i32.shr_u i32.const 1 i32.add memory.size i32.sub
      memory.grow i32.const -1 i32.eq if unreachable end
    end
    local.get $p local.get 3 i32.add global.set $heap
    local.get $p)
  (func (export "add-one") (param i32) (result i32) local.get 0 i32.const 1 i32.add)
  (func (export "greet") (param $p i32) (param $n i32) (result i32)
    (local $out i32)
    ;; log(info, "greet", name)
    i32.const 2 i32.const 48 i32.const 5 local.get $p local.get $n call $log
    i32.const 0 i32.const 0 i32.const 1 local.get $n i32.const 7 i32.add call $realloc
    local.set $out
    local.get $out i32.const 16 i32.const 7 memory.copy
    local.get $out i32.const 7 i32.add local.get $p local.get $n memory.copy
    i32.const 512 local.get $out i32.store
    i32.const 516 local.get $n i32.const 7 i32.add i32.store
    i32.const 512)
  (func (export "echo") (param $p i32) (param $n i32) (result i32)
    i32.const 512 local.get $p i32.store
    i32.const 516 local.get $n i32.store
    i32.const 512)
  (func (export "maybe-double") (param $some i32) (param $v i32) (result i32)
    local.get $some
    if
      i32.const 600 i32.const 0 i32.store8
      i32.const 604 local.get $v i32.const 2 i32.mul i32.store
    else
      i32.const 600 i32.const 1 i32.store8
      i32.const 604 i32.const 32 i32.store
      i32.const 608 i32.const 4 i32.store
    end
    i32.const 600)
  (func (export "now") (result i64)
    i32.const 704 call $time
    i32.const 704 i64.load i64.const 1000 i64.mul
    i32.const 712 i64.load32_u i64.add)
  (func (export "spin") (param $n i32) (result i32)
    (local $i i32)
    block
      loop
        local.get $i local.get $n i32.ge_u br_if 1
        local.get $i i32.const 1 i32.add local.set $i
        br 0
      end
    end
    local.get $i)
  (func (export "crash") unreachable)
)`

/** The demo core module with its WIT embedded (a `component-type` custom section), as wit-bindgen emits. */
export async function demoCoreWithWit (): Promise<Uint8Array> {
  return await componentEmbed({ binary: await parse(DEMO_WAT), witSource: DEMO_WIT, world: 'demo' })
}

/** The demo component. */
export async function demoComponent (): Promise<Uint8Array> {
  return await componentNew(await demoCoreWithWit())
}

/** A component importing an interface the host does not provide. */
export async function forbiddenComponent (): Promise<Uint8Array> {
  const wit = `package ipvm:bad;
world bad {
  import wasi:cli/environment@0.2.0;
  export run: func() -> s32;
}
package wasi:cli@0.2.0 { interface environment { get-arguments: func() -> list<string>; } }
`
  const wat = `(module
  (import "wasi:cli/environment@0.2.0" "get-arguments" (func (param i32)))
  (memory (export "memory") 1)
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) i32.const 1024)
  (func (export "run") (result i32) i32.const 0))`
  return await componentNew(await componentEmbed({ binary: await parse(wat), witSource: wit, world: 'bad' }))
}
