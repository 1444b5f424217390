;; sqrt(-1) in f32, observed through i32.reinterpret.
(module
  (func (export "main") (result i32)
    (i32.reinterpret_f32 (f32.sqrt (f32.const -1)))))
