;; Keeps calling memory.grow forever (it fails after the cap): only fuel stops it.
(module
  (memory 0)
  (func (export "main")
    (loop $again
      (drop (memory.grow (i32.const 16)))
      (br $again))))
