/**
 * The benchmark kernels, each written twice: in WAT (the guest) and in C
 * (the native baseline, compiled with `gcc -O2`). Both versions do the same
 * work in the same order and return the same checksum, which the benchmark
 * checks before timing anything.
 */

/** One kernel. */
export interface Kernel {
  /** Name, also the exported Wasm function and the C selector. */
  name: string
  /** What it stresses. */
  description: string
  /** Argument for one timed call (sized for ~10–30 ms of work). */
  arg: number
}

/** The kernels, in report order. */
export const KERNELS: Kernel[] = [
  { name: 'intmix', description: 'integer mix loop: xorshift, multiply, rotate, in locals', arg: 8_000_000 },
  { name: 'memscan', description: 'memory scan: 4 MiB of i32 loads, sum and count, 16 passes', arg: 16 },
  { name: 'matmul', description: 'f64 matrix multiply, 200×200, naive ijk with a local accumulator', arg: 200 },
  { name: 'fib', description: 'recursive calls: naive Fibonacci', arg: 30 },
  { name: 'mandel', description: 'f64 Mandelbrot escape counts on a 256×256 grid (float-heavy, NaN canonicalization)', arg: 256 }
]

/** The Wasm module with every kernel. Memory: 4 MiB scan buffer at 0, matrices after it. */
export const KERNELS_WAT = `
(module
  (memory (export "memory") 128)
  (func (export "intmix") (param $n i32) (result i32)
    (local $x i32) (local $acc i32) (local $i i32)
    (local.set $x (i32.const 0x92D68CA2))
    (block $done
      (br_if $done (i32.eqz (local.get $n)))
      (loop $next
        (local.set $x (i32.xor (local.get $x) (i32.shl (local.get $x) (i32.const 13))))
        (local.set $x (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 17))))
        (local.set $x (i32.xor (local.get $x) (i32.shl (local.get $x) (i32.const 5))))
        (local.set $acc (i32.rotl (i32.add (local.get $acc) (i32.xor (i32.mul (local.get $x) (local.get $i)) (i32.shr_u (local.get $acc) (i32.const 3)))) (i32.const 5)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $next (i32.lt_u (local.get $i) (local.get $n)))))
    (local.get $acc))

  ;; Fills the 4 MiB scan buffer with xorshift values.
  (func (export "memscan_init")
    (local $x i32) (local $p i32)
    (local.set $x (i32.const 0x12345678))
    (loop $next
      (local.set $x (i32.xor (local.get $x) (i32.shl (local.get $x) (i32.const 13))))
      (local.set $x (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 17))))
      (local.set $x (i32.xor (local.get $x) (i32.shl (local.get $x) (i32.const 5))))
      (i32.store (local.get $p) (local.get $x))
      (local.set $p (i32.add (local.get $p) (i32.const 4)))
      (br_if $next (i32.lt_u (local.get $p) (i32.const 4194304)))))

  (func (export "memscan") (param $passes i32) (result i32)
    (local $p i32) (local $v i32) (local $sum i32) (local $odd i32) (local $pass i32)
    (block $done
      (br_if $done (i32.eqz (local.get $passes)))
      (loop $outer
        (local.set $p (i32.const 0))
        (loop $inner
          (local.set $v (i32.load (local.get $p)))
          (local.set $sum (i32.add (local.get $sum) (local.get $v)))
          (local.set $odd (i32.add (local.get $odd) (i32.and (local.get $v) (i32.const 1))))
          (local.set $p (i32.add (local.get $p) (i32.const 4)))
          (br_if $inner (i32.lt_u (local.get $p) (i32.const 4194304))))
        (local.set $pass (i32.add (local.get $pass) (i32.const 1)))
        (br_if $outer (i32.lt_u (local.get $pass) (local.get $passes)))))
    (i32.xor (local.get $sum) (i32.mul (local.get $odd) (i32.const 31))))

  ;; A at 4 MiB, B after it, C after B; n×n f64 each.
  (func (export "matmul_init") (param $n i32)
    (local $i i32) (local $nn i32) (local $b i32)
    (local.set $nn (i32.mul (local.get $n) (local.get $n)))
    (local.set $b (i32.add (i32.const 4194304) (i32.shl (local.get $nn) (i32.const 3))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $nn)))
        (f64.store (i32.add (i32.const 4194304) (i32.shl (local.get $i) (i32.const 3)))
          (f64.div (f64.convert_i32_u (i32.rem_u (local.get $i) (i32.const 7))) (f64.const 3)))
        (f64.store (i32.add (local.get $b) (i32.shl (local.get $i) (i32.const 3)))
          (f64.div (f64.convert_i32_u (i32.rem_u (local.get $i) (i32.const 5))) (f64.const 7)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))

  (func (export "matmul") (param $n i32) (result f64)
    (local $i i32) (local $j i32) (local $k i32) (local $acc f64) (local $nn i32)
    (local $a i32) (local $b i32) (local $c i32) (local $check f64)
    (local.set $nn (i32.mul (local.get $n) (local.get $n)))
    (local.set $a (i32.const 4194304))
    (local.set $b (i32.add (local.get $a) (i32.shl (local.get $nn) (i32.const 3))))
    (local.set $c (i32.add (local.get $b) (i32.shl (local.get $nn) (i32.const 3))))
    (loop $li
      (local.set $j (i32.const 0))
      (loop $lj
        (local.set $acc (f64.const 0))
        (local.set $k (i32.const 0))
        (loop $lk
          (local.set $acc (f64.add (local.get $acc)
            (f64.mul
              (f64.load (i32.add (local.get $a) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $k)) (i32.const 3))))
              (f64.load (i32.add (local.get $b) (i32.shl (i32.add (i32.mul (local.get $k) (local.get $n)) (local.get $j)) (i32.const 3)))))))
          (local.set $k (i32.add (local.get $k) (i32.const 1)))
          (br_if $lk (i32.lt_u (local.get $k) (local.get $n))))
        (f64.store (i32.add (local.get $c) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $j)) (i32.const 3))) (local.get $acc))
        (local.set $check (f64.add (local.get $check) (local.get $acc)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br_if $lj (i32.lt_u (local.get $j) (local.get $n))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $li (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $check))

  (func $fib (export "fib") (param $n i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
      (then (local.get $n))
      (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1)))
                     (call $fib (i32.sub (local.get $n) (i32.const 2)))))))

  (func (export "mandel") (param $size i32) (result i32)
    (local $px i32) (local $py i32) (local $it i32) (local $total i32)
    (local $cx f64) (local $cy f64) (local $x f64) (local $y f64) (local $x2 f64) (local $y2 f64) (local $scale f64)
    (local.set $scale (f64.div (f64.const 3) (f64.convert_i32_u (local.get $size))))
    (loop $rows
      (local.set $cy (f64.sub (f64.mul (f64.convert_i32_u (local.get $py)) (local.get $scale)) (f64.const 1.5)))
      (local.set $px (i32.const 0))
      (loop $cols
        (local.set $cx (f64.sub (f64.mul (f64.convert_i32_u (local.get $px)) (local.get $scale)) (f64.const 2)))
        (local.set $x (f64.const 0))
        (local.set $y (f64.const 0))
        (local.set $it (i32.const 0))
        (block $escaped
          (loop $iter
            (local.set $x2 (f64.mul (local.get $x) (local.get $x)))
            (local.set $y2 (f64.mul (local.get $y) (local.get $y)))
            (br_if $escaped (f64.gt (f64.add (local.get $x2) (local.get $y2)) (f64.const 4)))
            (local.set $y (f64.add (f64.mul (f64.mul (f64.const 2) (local.get $x)) (local.get $y)) (local.get $cy)))
            (local.set $x (f64.add (f64.sub (local.get $x2) (local.get $y2)) (local.get $cx)))
            (local.set $it (i32.add (local.get $it) (i32.const 1)))
            (br_if $iter (i32.lt_u (local.get $it) (i32.const 200)))))
        (local.set $total (i32.add (local.get $total) (local.get $it)))
        (local.set $px (i32.add (local.get $px) (i32.const 1)))
        (br_if $cols (i32.lt_u (local.get $px) (local.get $size))))
      (local.set $py (i32.add (local.get $py) (i32.const 1)))
      (br_if $rows (i32.lt_u (local.get $py) (local.get $size))))
    (local.get $total))
)
`

/**
 * The same kernels in C. \`./kernels NAME ARG REPS\` runs a kernel REPS times
 * and prints one line per run: elapsed nanoseconds and the checksum.
 */
export const KERNELS_C = `
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint8_t memory[128 * 65536];

__attribute__((noinline)) static uint32_t intmix(uint32_t n) {
  uint32_t x = 0x92D68CA2u, acc = 0;
  for (uint32_t i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >> 17; x ^= x << 5;
    uint32_t t = acc + ((x * i) ^ (acc >> 3));
    acc = (t << 5) | (t >> 27);
  }
  return acc;
}

static void memscan_init(void) {
  uint32_t x = 0x12345678u;
  for (uint32_t p = 0; p < 4194304; p += 4) {
    x ^= x << 13; x ^= x >> 17; x ^= x << 5;
    memcpy(memory + p, &x, 4);
  }
}

__attribute__((noinline)) static uint32_t memscan(uint32_t passes) {
  uint32_t sum = 0, odd = 0;
  for (uint32_t pass = 0; pass < passes; pass++) {
    for (uint32_t p = 0; p < 4194304; p += 4) {
      uint32_t v; memcpy(&v, memory + p, 4);
      sum += v; odd += v & 1;
    }
  }
  return sum ^ (odd * 31);
}

static double *ma, *mb, *mc;
static void matmul_init(uint32_t n) {
  uint32_t nn = n * n;
  ma = (double *)(memory + 4194304); mb = ma + nn; mc = mb + nn;
  for (uint32_t i = 0; i < nn; i++) { ma[i] = (double)(i % 7) / 3.0; mb[i] = (double)(i % 5) / 7.0; }
}

__attribute__((noinline)) static double matmul(uint32_t n) {
  double check = 0;
  for (uint32_t i = 0; i < n; i++)
    for (uint32_t j = 0; j < n; j++) {
      double acc = 0;
      for (uint32_t k = 0; k < n; k++) acc += ma[i * n + k] * mb[k * n + j];
      mc[i * n + j] = acc;
      check += acc;
    }
  return check;
}

__attribute__((noinline)) static uint32_t fib(uint32_t n) {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

__attribute__((noinline)) static uint32_t mandel(uint32_t size) {
  uint32_t total = 0;
  double scale = 3.0 / (double)size;
  for (uint32_t py = 0; py < size; py++) {
    double cy = (double)py * scale - 1.5;
    for (uint32_t px = 0; px < size; px++) {
      double cx = (double)px * scale - 2.0, x = 0, y = 0;
      uint32_t it = 0;
      do {
        double x2 = x * x, y2 = y * y;
        if (x2 + y2 > 4.0) break;
        y = 2.0 * x * y + cy;
        x = x2 - y2 + cx;
        it++;
      } while (it < 200);
      total += it;
    }
  }
  return total;
}

static uint64_t now_ns(void) {
  struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc < 4) { fprintf(stderr, "usage: kernels NAME ARG REPS\\n"); return 2; }
  const char *name = argv[1];
  uint32_t arg = (uint32_t)strtoul(argv[2], 0, 10);
  int reps = atoi(argv[3]);
  if (!strcmp(name, "memscan")) memscan_init();
  if (!strcmp(name, "matmul")) matmul_init(arg);
  for (int r = 0; r < reps; r++) {
    uint64_t t0 = now_ns();
    double check;
    if (!strcmp(name, "intmix")) check = (double)intmix(arg);
    else if (!strcmp(name, "memscan")) check = (double)memscan(arg);
    else if (!strcmp(name, "matmul")) check = matmul(arg);
    else if (!strcmp(name, "fib")) check = (double)fib(arg);
    else if (!strcmp(name, "mandel")) check = (double)mandel(arg);
    else { fprintf(stderr, "unknown kernel %s\\n", name); return 2; }
    uint64_t t1 = now_ns();
    printf("%llu %.17g\\n", (unsigned long long)(t1 - t0), check);
  }
  return 0;
}
`
