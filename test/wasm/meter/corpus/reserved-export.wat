;; Tries to provide its own fuel global under the reserved name.
(module
  (global (export "__ipvm_fuel") (mut i64) (i64.const 9223372036854775807))
  (func (export "main")))
