;; Grows a table until growth fails; returns its final size (the cap).
(module
  (table $t 1 funcref)
  (func (export "main") (result i32)
    (loop $grow
      (br_if $grow (i32.ne (table.grow $t (ref.null func) (i32.const 1000)) (i32.const -1))))
    (table.size $t)))
