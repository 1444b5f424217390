/**
 * DAG-JSON rendering for humans: the canonical DAG-JSON bytes, indented.
 */
import * as dagJson from '@ipld/dag-json'

const textDecoder = new TextDecoder()

/**
 * Renders an IPLD value as indented DAG-JSON (links as `{"/": "cid"}`, bytes as
 * `{"/": {"bytes": "…"}}`). Indentation is added to the canonical encoding
 * token by token, so large integers keep every digit.
 */
export function toDagJson (value: unknown, indent = 2): string {
  const compact = textDecoder.decode(dagJson.encode(value))
  return indent === 0 ? compact : reindent(compact, indent)
}

function reindent (json: string, indent: number): string {
  let out = ''
  let depth = 0
  let inString = false
  for (let i = 0; i < json.length; i++) {
    const ch = json[i] as string
    if (inString) {
      out += ch
      if (ch === '\\') out += json[++i] ?? ''
      else if (ch === '"') inString = false
      continue
    }
    switch (ch) {
      case '"': inString = true; out += ch; break
      case '{': case '[': {
        const close = ch === '{' ? '}' : ']'
        if (json[i + 1] === close) { out += ch + close; i++; break }
        depth++
        out += ch + '\n' + ' '.repeat(depth * indent)
        break
      }
      case '}': case ']':
        depth--
        out += '\n' + ' '.repeat(depth * indent) + ch
        break
      case ',': out += ',\n' + ' '.repeat(depth * indent); break
      case ':': out += ': '; break
      default: out += ch
    }
  }
  return out
}
