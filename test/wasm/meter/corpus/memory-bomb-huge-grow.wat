;; Asks for 4 GiB at once: must return -1, not crash or charge for pages never granted.
(module
  (memory 1)
  (func (export "main") (result i32)
    (memory.grow (i32.const 65535))))
