;; Fills the whole memory over and over: bulk ops are charged per byte, so fuel runs out fast.
(module
  (memory 16)
  (func (export "main")
    (loop $again
      (memory.fill (i32.const 0) (i32.const 255) (i32.const 1048576))
      (br $again))))
