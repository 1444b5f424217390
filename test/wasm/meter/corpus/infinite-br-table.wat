;; A state machine dispatching through br_table that never reaches its exit state.
(module
  (func (export "main") (result i32) (local $state i32)
    (loop $dispatch
      (block $s2 (block $s1 (block $s0
        (br_table $s0 $s1 $s2 (local.get $state)))
        (local.set $state (i32.const 1)) (br $dispatch))
        (local.set $state (i32.const 2)) (br $dispatch))
      (local.set $state (i32.const 0))
      (br $dispatch))
    (local.get $state)))
