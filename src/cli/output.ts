/**
 * Terminal output: tables, a progress line, colours (off unless a TTY, and
 * off when NO_COLOR is set).
 */
import type { Writable } from 'node:stream'

/** Where a command writes. */
export interface Output {
  stdout: Writable & { isTTY?: boolean, columns?: number }
  stderr: Writable & { isTTY?: boolean, columns?: number }
}

/** ANSI styling for `stream`, or plain text when it is not a colour terminal. */
export function styles (stream: Output['stdout'], env: NodeJS.ProcessEnv = process.env): Record<'bold' | 'dim' | 'red' | 'green' | 'yellow' | 'cyan', (text: string) => string> {
  const on = stream.isTTY === true && env.NO_COLOR === undefined && env.TERM !== 'dumb'
  const wrap = (open: number, close: number) => (text: string) => on ? `\x1b[${open}m${text}\x1b[${close}m` : text
  return { bold: wrap(1, 22), dim: wrap(2, 22), red: wrap(31, 39), green: wrap(32, 39), yellow: wrap(33, 39), cyan: wrap(36, 39) }
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g

/** Display width of text that may hold ANSI codes. */
function visibleLength (text: string): number {
  return [...text.replace(ANSI, '')].length
}

/** Cuts `text` to `max` characters, marking the cut with `…`. */
export function truncate (text: string, max: number): string {
  const chars = [...text]
  return chars.length <= max ? text : chars.slice(0, Math.max(0, max - 1)).join('') + '…'
}

/** Renders rows as aligned columns under a header; `right` lists right-aligned columns. */
export function table (header: string[], rows: string[][], right: ReadonlySet<number> = new Set()): string {
  const widths = header.map((h, i) => Math.max(visibleLength(h), ...rows.map(r => visibleLength(r[i] ?? ''))))
  const line = (cells: string[]): string => cells.map((cell, i) => {
    const pad = ' '.repeat((widths[i] ?? 0) - visibleLength(cell))
    return right.has(i) ? pad + cell : cell + pad
  }).join('  ').trimEnd()
  return [line(header), line(widths.map(w => '─'.repeat(w))), ...rows.map(line)].join('\n') + '\n'
}

/** A one-line progress display that redraws itself on a TTY and prints nothing elsewhere. */
export class ProgressLine {
  private last = 0
  private shown = false
  constructor (private readonly stream: Output['stderr'], private readonly minIntervalMs = 50) {}

  get enabled (): boolean {
    return this.stream.isTTY === true
  }

  /** Redraws the line (at most every `minIntervalMs` unless `force`). */
  update (text: string, force = false): void {
    if (!this.enabled) return
    const now = Date.now()
    if (!force && now - this.last < this.minIntervalMs) return
    this.last = now
    const width = (this.stream.columns !== undefined && this.stream.columns > 0 ? this.stream.columns : 80) - 1
    this.stream.write(`\r\x1b[2K${truncate(text, width)}`)
    this.shown = true
  }

  /** Removes the line. */
  clear (): void {
    if (this.shown) this.stream.write('\r\x1b[2K')
    this.shown = false
  }
}

/** A bar like `████░░░░` for `done` of `total`. */
export function bar (done: number, total: number, width = 24): string {
  const filled = total === 0 ? width : Math.round(width * done / total)
  return '█'.repeat(filled) + '░'.repeat(width - filled)
}

/** Milliseconds for people: `850 µs`, `12.3 ms`, `4.20 s`. */
export function formatDuration (ms: number | undefined): string {
  if (ms === undefined) return '—'
  if (ms < 1) return `${Math.round(ms * 1000)} µs`
  if (ms < 1000) return `${ms < 10 ? ms.toFixed(2) : ms.toFixed(1)} ms`
  return `${(ms / 1000).toFixed(2)} s`
}
