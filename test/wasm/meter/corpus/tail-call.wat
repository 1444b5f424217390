;; return_call: would bypass the call-depth accounting, so it is rejected.
(module
  (func $loop (export "main") (param i32) (result i32)
    (return_call $loop (local.get 0))))
