;; A NaN with a payload and the sign bit set flows through arithmetic (add, mul, min, ceil):
;; hardware propagates the payload; the sandbox must not.
(module
  (func (export "main") (result i64)
    (local $weird f64)
    (local.set $weird (f64.reinterpret_i64 (i64.const 0xFFF8000000000123)))
    (i64.reinterpret_f64
      (f64.ceil (f64.min (f64.mul (f64.add (local.get $weird) (f64.const 1)) (f64.const 2)) (f64.const 3))))))
