;; A table of 200 000 initial elements, above the sandbox limit.
(module
  (table 200000 funcref)
  (func (export "main") (result i32) (i32.const 0)))
