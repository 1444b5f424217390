;; mandelbrot.wat: escape-time counts over tiles of the Mandelbrot set, a
;; floating-point CPU benchmark whose tiles are independent (so a workflow
;; can run them in parallel) and whose partial results add up.
;;
;; ABI: plain numbers only. No imports, no memory.
;;
;; Exports:
;;   tile(x0: f64, y0: f64, step: f64, size: i32, max_iter: i32) -> i64
;;     The sum, over the size x size grid of points
;;       c = (x0 + col * step) + i (y0 + row * step),  0 <= row, col < size,
;;     of the escape iteration count n(c): starting from z = 0, iterate
;;     z = z^2 + c while |z|^2 <= 4, at most max_iter times; n(c) is the
;;     number of iterations done (max_iter for points that never escape).
;;     size <= 0 or max_iter <= 0 gives 0. Result is at most
;;     size^2 * max_iter, so it never overflows i64 for i32 inputs.
;;     Cost: about 12 instructions per iteration; one tile of 256 x 256 at
;;     max_iter 1000 does between 6.6e4 and 6.6e7 iterations.
;;
;;   sum4(a: i64, b: i64, c: i64, d: i64) -> i64
;;     a + b + c + d (wrapping at 64 bits): joins four tiles.
;;
;; Determinism: Wasm f64 arithmetic is IEEE 754 binary64 with round-to-nearest
;; and no fused multiply-add, so every engine computes the same z sequence.
;; The only nondeterministic part of Wasm floats is the bit pattern of a NaN,
;; and no NaN reaches the output: the result is an integer count, and a NaN
;; (only possible from NaN or infinite inputs) merely makes the escape test
;; false, which is itself deterministic. Coordinates are computed as
;; x0 + col * step (not by repeated addition) so rounding errors do not
;; accumulate across the tile and a host can reproduce each point exactly.
(module
  (func (export "tile")
        (param $x0 f64) (param $y0 f64) (param $step f64)
        (param $size i32) (param $max_iter i32)
        (result i64)
    (local $row i32) (local $col i32) (local $n i32)
    (local $cx f64) (local $cy f64)
    (local $zx f64) (local $zy f64) (local $zx2 f64) (local $zy2 f64)
    (local $total i64)
    (block $rows_done
      (br_if $rows_done (i32.le_s (local.get $size) (i32.const 0)))
      (br_if $rows_done (i32.le_s (local.get $max_iter) (i32.const 0)))
      (loop $rows
        ;; cy = y0 + row * step
        (local.set $cy
          (f64.add (local.get $y0)
                   (f64.mul (f64.convert_i32_s (local.get $row)) (local.get $step))))
        (local.set $col (i32.const 0))
        (loop $cols
          ;; cx = x0 + col * step
          (local.set $cx
            (f64.add (local.get $x0)
                     (f64.mul (f64.convert_i32_s (local.get $col)) (local.get $step))))
          (local.set $zx (f64.const 0))
          (local.set $zy (f64.const 0))
          (local.set $zx2 (f64.const 0))
          (local.set $zy2 (f64.const 0))
          (local.set $n (i32.const 0))
          ;; Escape-time loop. Invariant at the top: zx2 = zx^2, zy2 = zy^2.
          (block $escaped
            (loop $iterate
              ;; stop when |z|^2 > 4
              (br_if $escaped
                (f64.gt (f64.add (local.get $zx2) (local.get $zy2)) (f64.const 4)))
              ;; z = z^2 + c:  zy = 2 zx zy + cy ; zx = zx^2 - zy^2 + cx
              (local.set $zy
                (f64.add
                  (f64.mul (f64.add (local.get $zx) (local.get $zx)) (local.get $zy))
                  (local.get $cy)))
              (local.set $zx
                (f64.add (f64.sub (local.get $zx2) (local.get $zy2)) (local.get $cx)))
              (local.set $zx2 (f64.mul (local.get $zx) (local.get $zx)))
              (local.set $zy2 (f64.mul (local.get $zy) (local.get $zy)))
              (local.set $n (i32.add (local.get $n) (i32.const 1)))
              (br_if $iterate (i32.lt_s (local.get $n) (local.get $max_iter)))))
          (local.set $total
            (i64.add (local.get $total) (i64.extend_i32_u (local.get $n))))
          (local.set $col (i32.add (local.get $col) (i32.const 1)))
          (br_if $cols (i32.lt_s (local.get $col) (local.get $size))))
        (local.set $row (i32.add (local.get $row) (i32.const 1)))
        (br_if $rows (i32.lt_s (local.get $row) (local.get $size)))))
    (local.get $total))

  ;; sum4(a, b, c, d) = a + b + c + d, wrapping at 64 bits.
  (func (export "sum4") (param $a i64) (param $b i64) (param $c i64) (param $d i64)
        (result i64)
    (i64.add (i64.add (local.get $a) (local.get $b))
             (i64.add (local.get $c) (local.get $d))))
)
