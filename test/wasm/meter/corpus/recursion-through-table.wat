;; Unbounded recursion through call_indirect.
(module
  (type $t (func (param i32) (result i32)))
  (table 1 funcref)
  (elem (i32.const 0) $down)
  (func $down (export "main") (type $t)
    (i32.add (i32.const 1)
      (call_indirect (type $t) (i32.add (local.get 0) (i32.const 1)) (i32.const 0)))))
