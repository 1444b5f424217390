;; A start function that traps: must surface as a Trap when the host runs the start.
(module
  (memory 1)
  (func $start (i32.store (i32.const 70000) (i32.const 1)))
  (start $start)
  (func (export "main") (result i32) (i32.const 1)))
