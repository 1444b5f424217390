;; A 64-bit memory.
(module
  (memory i64 1)
  (func (export "main") (result i32) (i32.const 0)))
