;; An atomic fence (0xFE prefix) on an ordinary memory.
(module
  (memory 1)
  (func (export "main") (result i32)
    (atomic.fence)
    (i32.const 0)))
