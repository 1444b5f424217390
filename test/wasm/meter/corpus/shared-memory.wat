;; Shared memory (threads proposal).
(module
  (memory 1 1 shared)
  (func (export "main") (result i32) (i32.const 0)))
