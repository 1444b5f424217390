;; hashchain.wat: a long sequential chain of 64-bit hashing, a CPU benchmark
;; whose result is cheap to check and impossible to compute out of order.
;;
;; ABI: plain numbers only. No imports, no memory. Integer-only, so there is
;; no float nondeterminism to worry about; nothing here can trap.
;;
;; Exports:
;;   chain(seed: i64, rounds: i32) -> i64
;;     x = seed
;;     repeat rounds times:  x = mix(x + 0x9E3779B97F4A7C15)
;;     return x
;;   where mix is the splitmix64 finaliser (Steele, Lea, Flood 2014):
;;     z = (z ^ (z >>u 30)) * 0xBF58476D1CE4E5B9
;;     z = (z ^ (z >>u 27)) * 0x94D049BB133111EB
;;     z =  z ^ (z >>u 31)
;;   All arithmetic wraps modulo 2^64. `rounds` is read as a signed i32:
;;   rounds <= 0 returns `seed` unchanged. The i64 result is whatever bit
;;   pattern comes out; a JS host sees it as a signed BigInt.
;;   Cost: one loop iteration per round (~10 instructions), strictly sequential.
;;
;;   mix(seed: i64) -> i64
;;     One round: mix(seed + 0x9E3779B97F4A7C15), i.e. chain(seed, 1).
(module
  ;; One round of splitmix64: add the golden-ratio increment, then finalise.
  (func $round (param $x i64) (result i64)
    (local $z i64)
    (local.set $z (i64.add (local.get $x) (i64.const 0x9E3779B97F4A7C15)))
    (local.set $z
      (i64.mul
        (i64.xor (local.get $z) (i64.shr_u (local.get $z) (i64.const 30)))
        (i64.const 0xBF58476D1CE4E5B9)))
    (local.set $z
      (i64.mul
        (i64.xor (local.get $z) (i64.shr_u (local.get $z) (i64.const 27)))
        (i64.const 0x94D049BB133111EB)))
    (i64.xor (local.get $z) (i64.shr_u (local.get $z) (i64.const 31))))

  (func (export "mix") (param $seed i64) (result i64)
    (call $round (local.get $seed)))

  ;; chain(seed, rounds): the round is inlined by hand into the loop so the
  ;; hot path has no call (Node does not inline Wasm calls, and a metering
  ;; host would otherwise charge a function entry per round).
  (func (export "chain") (param $seed i64) (param $rounds i32) (result i64)
    (local $z i64)
    (local $i i32)
    (block $done
      (br_if $done (i32.le_s (local.get $rounds) (i32.const 0)))
      (loop $next
        (local.set $z (i64.add (local.get $seed) (i64.const 0x9E3779B97F4A7C15)))
        (local.set $z
          (i64.mul
            (i64.xor (local.get $z) (i64.shr_u (local.get $z) (i64.const 30)))
            (i64.const 0xBF58476D1CE4E5B9)))
        (local.set $z
          (i64.mul
            (i64.xor (local.get $z) (i64.shr_u (local.get $z) (i64.const 27)))
            (i64.const 0x94D049BB133111EB)))
        (local.set $seed
          (i64.xor (local.get $z) (i64.shr_u (local.get $z) (i64.const 31))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $next (i32.lt_s (local.get $i) (local.get $rounds)))))
    (local.get $seed))
)
