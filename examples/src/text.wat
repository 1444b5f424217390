;; text.wat: byte-string functions, the guest side of the bytes ABI.
;;
;; Bytes ABI (how a host passes a bytes/string argument):
;;   1. call alloc(len) -> ptr      reserve len bytes in this module's memory
;;   2. write the bytes to memory[ptr .. ptr+len)  (the exported `memory`)
;;   3. pass the argument as TWO i32 parameters: (ptr, len)
;; One workflow argument (a string or a `{"/": cid}` file link) therefore
;; fills two Wasm parameters. Lengths and pointers are unsigned.
;;
;; Exports:
;;   memory                          linear memory, 1 page (64 KiB) at start;
;;                                   alloc grows it on demand, no maximum here
;;                                   (the host caps it, e.g. from meta.memory)
;;   alloc(len: i32) -> i32          bump allocator: returns an 8-byte-aligned
;;                                   pointer to len fresh bytes, growing memory
;;                                   when needed; traps (unreachable) if memory
;;                                   cannot grow. Memory is never freed: an
;;                                   instance serves one task. Fresh pages are
;;                                   zero; a region is never handed out twice.
;;   lines(ptr: i32, len: i32) -> i32    number of '\n' (0x0A) bytes
;;   words(ptr: i32, len: i32) -> i32    number of maximal runs of bytes that
;;                                       are not whitespace; whitespace is
;;                                       exactly space, \t, \n, \r
;;   fnv1a64(ptr: i32, len: i32) -> i64  FNV-1a 64-bit hash of the bytes:
;;                                       h = 0xcbf29ce484222325;
;;                                       for each byte b: h = (h ^ b) * 0x100000001b3
;;                                       (a JS host sees the i64 as a signed BigInt)
;;
;; The scanning functions only read memory; reading outside memory traps.
;; All of them are deterministic: integer arithmetic only.
(module
  (memory (export "memory") 1)

  ;; Next free byte. The first 1 KiB stays unused so that a pointer of 0 is
  ;; never a valid allocation (hosts can treat 0 as "no pointer").
  (global $heap (mut i32) (i32.const 1024))

  (func (export "alloc") (param $len i32) (result i32)
    (local $ptr i32)
    (local $end i64)
    (local $capacity i64)
    ;; Align the start to 8 bytes.
    (local.set $ptr
      (i32.and (i32.add (global.get $heap) (i32.const 7)) (i32.const -8)))
    ;; End of the region, in 64 bits so that huge lengths cannot wrap.
    (local.set $end
      (i64.add (i64.extend_i32_u (local.get $ptr))
               (i64.extend_i32_u (local.get $len))))
    ;; A 32-bit memory ends at 4 GiB at most.
    (if (i64.gt_u (local.get $end) (i64.const 0xFFFFFFFF))
      (then unreachable))
    ;; Grow by whole pages to cover [capacity, end).
    (local.set $capacity
      (i64.shl (i64.extend_i32_u (memory.size)) (i64.const 16)))
    (if (i64.gt_u (local.get $end) (local.get $capacity))
      (then
        (if (i32.eq
              (memory.grow
                (i32.wrap_i64
                  (i64.shr_u
                    (i64.add (i64.sub (local.get $end) (local.get $capacity))
                             (i64.const 0xFFFF))
                    (i64.const 16))))
              (i32.const -1))
          (then unreachable))))
    (global.set $heap (i32.wrap_i64 (local.get $end)))
    (local.get $ptr))

  ;; lines(ptr, len): count the newline bytes.
  (func (export "lines") (param $ptr i32) (param $len i32) (result i32)
    (local $end i32)
    (local $count i32)
    (local.set $end (i32.add (local.get $ptr) (local.get $len)))
    (block $done
      (br_if $done (i32.eqz (local.get $len)))
      (loop $next
        (if (i32.eq (i32.load8_u (local.get $ptr)) (i32.const 0x0A))
          (then (local.set $count (i32.add (local.get $count) (i32.const 1)))))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 1)))
        (br_if $next (i32.ne (local.get $ptr) (local.get $end)))))
    (local.get $count))

  ;; True (1) for space, \t, \n, \r; 0 for every other byte.
  (func $is_space (param $b i32) (result i32)
    (i32.or
      (i32.or (i32.eq (local.get $b) (i32.const 0x20))
              (i32.eq (local.get $b) (i32.const 0x09)))
      (i32.or (i32.eq (local.get $b) (i32.const 0x0A))
              (i32.eq (local.get $b) (i32.const 0x0D)))))

  ;; words(ptr, len): count the starts of words, i.e. non-space bytes that
  ;; follow a space byte or the start of the input.
  (func (export "words") (param $ptr i32) (param $len i32) (result i32)
    (local $end i32)
    (local $count i32)
    (local $in_word i32)
    (local $space i32)
    (local.set $end (i32.add (local.get $ptr) (local.get $len)))
    (block $done
      (br_if $done (i32.eqz (local.get $len)))
      (loop $next
        (local.set $space (call $is_space (i32.load8_u (local.get $ptr))))
        ;; a non-space byte outside a word starts a new word
        (if (i32.and (i32.eqz (local.get $space)) (i32.eqz (local.get $in_word)))
          (then (local.set $count (i32.add (local.get $count) (i32.const 1)))))
        (local.set $in_word (i32.eqz (local.get $space)))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 1)))
        (br_if $next (i32.ne (local.get $ptr) (local.get $end)))))
    (local.get $count))

  ;; fnv1a64(ptr, len): FNV-1a, 64-bit variant, over the bytes in order.
  (func (export "fnv1a64") (param $ptr i32) (param $len i32) (result i64)
    (local $end i32)
    (local $hash i64)
    (local.set $hash (i64.const 0xcbf29ce484222325))
    (local.set $end (i32.add (local.get $ptr) (local.get $len)))
    (block $done
      (br_if $done (i32.eqz (local.get $len)))
      (loop $next
        (local.set $hash
          (i64.mul
            (i64.xor (local.get $hash) (i64.extend_i32_u (i32.load8_u (local.get $ptr))))
            (i64.const 0x100000001b3)))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 1)))
        (br_if $next (i32.ne (local.get $ptr) (local.get $end)))))
    (local.get $hash))
)
