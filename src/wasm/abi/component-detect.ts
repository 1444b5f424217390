/**
 * Telling components apart from core modules, without loading jco: the worker
 * loads the component machinery (jco's transpiler, ~70 ms to initialise) only
 * when one of these says yes.
 */

/** Name of the custom section (prefix) wit-bindgen puts in a core module to make it a component with `componentNew`. */
export const COMPONENT_TYPE_SECTION = 'component-type'

const MAGIC = [0x00, 0x61, 0x73, 0x6D]

/** True for component binaries (`\0asm`, version 0x0d, layer 1). */
export function isComponent (bytes: Uint8Array): boolean {
  return bytes.byteLength >= 8 && MAGIC.every((byte, index) => bytes[index] === byte) && bytes[6] === 0x01 && bytes[7] === 0x00 && bytes[4] !== 0x01
}

function readLeb (bytes: Uint8Array, at: number): [value: number, next: number] {
  let value = 0
  let shift = 0
  for (;;) {
    const byte = bytes[at++]
    if (byte === undefined || shift > 28) return [-1, at]
    value += (byte & 0x7F) * 2 ** shift
    shift += 7
    if ((byte & 0x80) === 0) return [value, at]
  }
}

/** True for a core module with a `component-type*` custom section (wit-bindgen output, not yet a component). */
export function hasComponentType (bytes: Uint8Array): boolean {
  if (bytes.byteLength < 8 || !MAGIC.every((byte, index) => bytes[index] === byte) || bytes[4] !== 0x01) return false
  let at = 8
  const decoder = new TextDecoder()
  while (at < bytes.byteLength) {
    const id = bytes[at++]
    const [size, body] = readLeb(bytes, at)
    if (size < 0 || body + size > bytes.byteLength) return false
    if (id === 0) {
      const [nameLength, nameStart] = readLeb(bytes, body)
      if (nameLength >= 0 && decoder.decode(bytes.subarray(nameStart, nameStart + nameLength)).startsWith(COMPONENT_TYPE_SECTION)) return true
    }
    at = body + size
  }
  return false
}
