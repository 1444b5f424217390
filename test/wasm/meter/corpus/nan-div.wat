;; 0/0 gives a NaN whose sign bit V8 on x86 sets (0xFFF8…): must come out canonical.
(module
  (func (export "main") (param $x f64) (result i64)
    (i64.reinterpret_f64 (f64.div (local.get $x) (local.get $x)))))
