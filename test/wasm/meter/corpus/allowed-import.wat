;; Imports an allowed host function and calls it in a loop.
(module
  (import "host" "add" (func $add (param i32 i32) (result i32)))
  (func (export "main") (param $n i32) (result i32) (local $acc i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $acc (call $add (local.get $acc) (local.get $n)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $acc)))
