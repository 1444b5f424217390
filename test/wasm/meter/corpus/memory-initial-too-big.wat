;; Declares 4096 initial pages (256 MiB), above the sandbox cap.
(module
  (memory 4096)
  (func (export "main") (result i32) (memory.size)))
