// Summary statistics over a list of numbers, by ipvm's IPLD bytes ABI
// (AssemblyScript, no imports). Input: the task's args as DAG-CBOR, either a
// list of numbers or a list holding one list of numbers. Output: the map
// {sum, mean, count} as DAG-CBOR (mean is null for an empty list).
// Build: asc examples/src/stats.ts -O3 --runtime stub --use abort= -o examples/build/stats.wasm

let input: usize = 0
let at: usize = 0
let end: usize = 0

/** The IPLD ABI's allocator (and its marker). Memory is never freed: each task gets a fresh instance. */
export function ipvm_alloc (len: i32): i32 {
  return <i32>heap.alloc(<usize>max(len, 1))
}

function fail (): void { unreachable() }

function byte (): u32 {
  if (at >= end) fail()
  return load<u8>(at++)
}

/** Reads a head's argument (major types 0, 1, 4): 24..27 are 1, 2, 4, 8 following bytes. */
function argument (info: u32): u64 {
  if (info < 24) return info
  let bytes = 0
  if (info == 24) bytes = 1
  else if (info == 25) bytes = 2
  else if (info == 26) bytes = 4
  else if (info == 27) bytes = 8
  else fail()
  let value: u64 = 0
  for (let i = 0; i < bytes; i++) value = (value << 8) | <u64>byte()
  return value
}

/** Reads a number: an integer (major 0 or 1) or a float64 (0xfb). */
function number (): f64 {
  const head = byte()
  const major = head >> 5
  if (major == 0) return <f64>argument(head & 31)
  if (major == 1) return -1.0 - <f64>argument(head & 31)
  if (head == 0xfb) return reinterpret<f64>(argument(27))
  fail()
  return 0
}

function listLength (): u32 {
  const head = byte()
  if (head >> 5 != 4) fail()
  return <u32>argument(head & 31)
}

let out: usize = 0
let outAt: usize = 0

function put (b: u32): void { store<u8>(outAt++, <u8>b) }

function head (major: u32, value: u64): void {
  const m = major << 5
  if (value < 24) put(m | <u32>value)
  else if (value < 0x100) { put(m | 24); put(<u32>value) }
  else if (value < 0x10000) { put(m | 25); put(<u32>(value >> 8)); put(<u32>value & 0xff) }
  else if (value < 0x100000000) { put(m | 26); for (let s = 24; s >= 0; s -= 8) put(<u32>(value >> s) & 0xff) }
  else { put(m | 27); for (let s = 56; s >= 0; s -= 8) put(<u32>(value >> s) & 0xff) }
}

function text (s: string): void {
  head(3, s.length)
  for (let i = 0; i < s.length; i++) put(s.charCodeAt(i))
}

/** DAG-CBOR: integral values within 2^53 as integers, others as float64. */
function writeNumber (x: f64): void {
  if (x == Math.floor(x) && Math.abs(x) <= 9007199254740991.0) {
    if (x >= 0) head(0, <u64>x)
    else head(1, <u64>(-1.0 - x))
    return
  }
  put(0xfb)
  const bits = reinterpret<u64>(x)
  for (let s = 56; s >= 0; s -= 8) put(<u32>(bits >> s) & 0xff)
}

/** `stats(ptr, len) -> ptr << 32 | len` */
export function stats (ptr: i32, len: i32): i64 {
  input = <usize>ptr
  at = input
  end = input + <usize>len
  let count = listLength()
  // args = [[n, ...]]: step into the one inner list.
  if (count == 1 && at < end && (load<u8>(at) >> 5) == 4) count = listLength()
  let sum: f64 = 0
  for (let i: u32 = 0; i < count; i++) sum += number()
  if (at != end) fail()
  out = heap.alloc(64)
  outAt = out
  // Keys in DAG-CBOR order: shorter first, then bytewise.
  head(5, 3)
  text('sum')
  writeNumber(sum)
  text('mean')
  if (count == 0) put(0xf6)
  else writeNumber(sum / <f64>count)
  text('count')
  head(0, count)
  return (<i64>out << 32) | <i64>(outAt - out)
}
