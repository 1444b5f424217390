;; call_indirect with the wrong signature traps.
(module
  (type $i (func (result i32)))
  (type $f (func (result f64)))
  (table 1 funcref)
  (elem (i32.const 0) $g)
  (func $g (type $f) (f64.const 1))
  (func (export "main") (result i32)
    (call_indirect (type $i) (i32.const 0))))
