;; The simplest denial of service: a loop that never ends.
(module
  (func (export "main")
    (loop $forever (br $forever))))
