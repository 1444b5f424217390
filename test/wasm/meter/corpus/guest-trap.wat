;; Does some work, then traps by itself: a Trap, not OutOfFuel, with stable fuel.
(module
  (func (export "main") (param $n i32) (result i32) (local $acc i32)
    (loop $l
      (local.set $acc (i32.add (local.get $acc) (local.get $n)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $l (local.get $n)))
    (i32.div_u (local.get $acc) (local.get $n))))
