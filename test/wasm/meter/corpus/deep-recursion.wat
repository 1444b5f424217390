;; Unbounded self-recursion.
(module
  (func $down (export "main") (param $n i32) (result i32)
    (i32.add (i32.const 1) (call $down (i32.add (local.get $n) (i32.const 1))))))
