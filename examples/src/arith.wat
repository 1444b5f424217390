;; arith.wat: integer arithmetic, the smallest useful guest.
;;
;; ABI: plain numbers only. No imports, no memory, no state: every export is a
;; pure function of its arguments, so the same instruction always gives the
;; same result. i32/i64 arithmetic wraps modulo 2^32 / 2^64 (Wasm semantics);
;; nothing here can trap.
;;
;; Exports:
;;   add(a: i32, b: i32) -> i32        a + b
;;   sub(a: i32, b: i32) -> i32        a - b
;;   mul(a: i32, b: i32) -> i32        a * b
;;   add-one(a: i32) -> i32            a + 1   (kebab-case on purpose: a workflow
;;                                              calling `add_one` must find it, as
;;                                              Homestar does for WIT names)
;;   add64(a: i64, b: i64) -> i64      a + b   (64-bit; hosts pass BigInt)
(module
  ;; add(a, b) = a + b, wrapping at 32 bits.
  (func $add (export "add") (param $a i32) (param $b i32) (result i32)
    (i32.add (local.get $a) (local.get $b)))

  ;; sub(a, b) = a - b, wrapping at 32 bits.
  (func $sub (export "sub") (param $a i32) (param $b i32) (result i32)
    (i32.sub (local.get $a) (local.get $b)))

  ;; mul(a, b) = a * b, the low 32 bits of the product.
  (func $mul (export "mul") (param $a i32) (param $b i32) (result i32)
    (i32.mul (local.get $a) (local.get $b)))

  ;; add-one(a) = a + 1. The export name has a hyphen: hosts that follow
  ;; Homestar map the snake_case `add_one` of a workflow to it.
  (func $add_one (export "add-one") (param $a i32) (result i32)
    (i32.add (local.get $a) (i32.const 1)))

  ;; add64(a, b) = a + b, wrapping at 64 bits.
  (func $add64 (export "add64") (param $a i64) (param $b i64) (result i64)
    (i64.add (local.get $a) (local.get $b)))
)
