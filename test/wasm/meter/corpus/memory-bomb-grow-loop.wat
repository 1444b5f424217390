;; Grows memory one page at a time until growth fails; returns the final size in pages.
;; With the memory cap the loop ends deterministically at the cap.
(module
  (memory 1)
  (func (export "main") (result i32)
    (loop $grow
      (br_if $grow (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
    (memory.size)))
