;; inf - inf stored to memory and read back as an integer.
(module
  (memory 1)
  (func (export "main") (result i64)
    (f64.store (i32.const 8) (f64.sub (f64.const inf) (f64.const inf)))
    (i64.load (i32.const 8))))
