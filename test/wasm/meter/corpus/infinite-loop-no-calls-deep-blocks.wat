;; An endless loop hidden inside nested blocks, ifs and an inner loop that exits early.
(module
  (func (export "main") (param $n i32) (result i32) (local $i i32)
    (loop $outer
      (block $b1
        (if (i32.eqz (local.get $n)) (then (br $b1)))
        (loop $inner
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $inner (i32.lt_u (local.get $i) (i32.const 10)))))
      (local.set $i (i32.const 0))
      (br $outer))
    (local.get $i)))
