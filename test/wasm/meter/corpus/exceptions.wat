;; Exception handling (tag section and try/catch).
(module
  (tag $oops (param i32))
  (func (export "main") (result i32)
    (try (result i32)
      (do (throw $oops (i32.const 7)))
      (catch $oops))))
