;; An endless loop in the start function: must be stopped by the same fuel budget.
(module
  (global $spins (mut i32) (i32.const 0))
  (func $start
    (loop $forever
      (global.set $spins (i32.add (global.get $spins) (i32.const 1)))
      (br $forever)))
  (start $start)
  (func (export "main") (result i32) (global.get $spins)))
