// A WASI command (AssemblyScript + @assemblyscript/wasi-shim) for ipvm: argv[1] picks what it does.
// Build: asc examples/src/wasi-tool.ts --config ./node_modules/@assemblyscript/wasi-shim/asconfig.json -O3 --runtime stub -o examples/build/wasi-tool.wasm

const argv = process.argv
const cmd = argv.length > 1 ? argv[1] : 'upper'
if (cmd == 'upper') {
  const chunk = new ArrayBuffer(4096)
  let parts = new Array<u8>()
  while (true) {
    const n = process.stdin.read(chunk)
    if (n <= 0) break
    const view = Uint8Array.wrap(chunk, 0, n)
    for (let i = 0; i < n; i++) {
      const c = view[i]
      parts.push(c >= 97 && c <= 122 ? c - 32 : c)
    }
  }
  const out = new Uint8Array(parts.length)
  for (let i = 0; i < parts.length; i++) out[i] = parts[i]
  process.stdout.write(out.buffer)
} else if (cmd == 'args') {
  process.stdout.write(argv.slice(1).join(' ') + '\n')
} else if (cmd == 'env') {
  const keys = process.env.keys()
  for (let i = 0; i < keys.length; i++) process.stdout.write(keys[i] + '=' + process.env.get(keys[i]) + '\n')
} else if (cmd == 'random') {
  const bytes = new Uint8Array(8)
  crypto.getRandomValues(bytes)
  let s = ''
  for (let i = 0; i < 8; i++) s += bytes[i].toString(16).padStart(2, '0')
  process.stdout.write(s + '\n')
} else if (cmd == 'time') {
  process.stdout.write(Date.now().toString() + '\n')
} else if (cmd == 'exit') {
  process.stderr.write('exiting with ' + argv[2] + '\n')
  process.exit(I32.parseInt(argv[2]))
} else {
  process.stderr.write('unknown command ' + cmd + '\n')
  process.exit(2)
}
