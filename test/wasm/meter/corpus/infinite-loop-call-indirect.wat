;; An endless loop whose body is an indirect call through a table.
(module
  (type $step (func (param i32) (result i32)))
  (table 2 funcref)
  (elem (i32.const 0) $inc $dec)
  (func $inc (type $step) (i32.add (local.get 0) (i32.const 1)))
  (func $dec (type $step) (i32.sub (local.get 0) (i32.const 1)))
  (func (export "main") (result i32) (local $x i32)
    (loop $forever
      (local.set $x (call_indirect (type $step) (local.get $x) (i32.and (local.get $x) (i32.const 1))))
      (br $forever))
    (local.get $x)))
