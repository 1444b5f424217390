;; Demoting an f64 NaN with a payload to f32, then promoting a NaN back: both canonical.
(module
  (func (export "main") (result i64)
    (i64.or
      (i64.shl (i64.extend_i32_u (i32.reinterpret_f32 (f32.demote_f64 (f64.reinterpret_i64 (i64.const 0x7FF4000000000001))))) (i64.const 32))
      (i64.extend_i32_u (i32.wrap_i64 (i64.shr_u (i64.reinterpret_f64 (f64.promote_f32 (f32.reinterpret_i32 (i32.const 0xFFA00001)))) (i64.const 32)))))))
