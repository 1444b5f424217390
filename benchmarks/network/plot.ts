/**
 * A tiny self-contained SVG line chart (no dependencies): one or more series
 * of (x, y) points on linear axes, with ticks, a legend and optional
 * horizontal reference lines (e.g. a target).
 */

/** One line of the chart. */
export interface Series {
  name: string
  points: Array<[number, number]>
  /** CSS colour; a default palette is used when omitted. */
  color?: string
  /** Dashed stroke. */
  dashed?: boolean
}

/** A horizontal reference line (e.g. a target bound). */
export interface Reference {
  label: string
  y: number
  color?: string
}

export interface LineChart {
  title: string
  xLabel: string
  yLabel: string
  series: Series[]
  references?: Reference[]
  width?: number
  height?: number
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b']

const escape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

/** About five "nice" ticks (1, 2, 5 × 10^n steps) covering [min, max]. */
export function ticks (min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min]
  const raw = (max - min) / count
  const magnitude = 10 ** Math.floor(Math.log10(raw))
  const step = [1, 2, 5, 10].map(m => m * magnitude).find(s => s >= raw) ?? raw
  const out: number[] = []
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)))
  return out
}

const label = (v: number): string => Math.abs(v) >= 1000 ? v.toExponential(1) : String(Number(v.toPrecision(4)))

/** Renders `chart` as an SVG document (a string). */
export function lineChart (chart: LineChart): string {
  const width = chart.width ?? 560
  const height = chart.height ?? 340
  const margin = { top: 36, right: 150, bottom: 48, left: 60 }
  const plotW = width - margin.left - margin.right
  const plotH = height - margin.top - margin.bottom
  const points = chart.series.flatMap(s => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y))
  const refs = chart.references ?? []
  const xs = points.map(p => p[0])
  const ys = [...points.map(p => p[1]), ...refs.map(r => r.y), 0]
  let xMin = Math.min(...xs, Infinity)
  let xMax = Math.max(...xs, -Infinity)
  if (!Number.isFinite(xMin)) { xMin = 0; xMax = 1 }
  if (xMax === xMin) { xMin -= 1; xMax += 1 }
  const yMin = 0
  const yTicks = ticks(yMin, Math.max(...ys) * 1.08 || 1)
  const yMax = Math.max(yTicks[yTicks.length - 1] ?? 1, Math.max(...ys) * 1.08 || 1)
  const sx = (x: number): number => margin.left + ((x - xMin) / (xMax - xMin)) * plotW
  const sy = (y: number): number => margin.top + plotH - ((y - yMin) / (yMax - yMin)) * plotH
  const f = (n: number): string => n.toFixed(1)

  const parts: string[] = []
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`)
  parts.push(`<rect width="${width}" height="${height}" fill="white"/>`)
  parts.push(`<text x="${width / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${escape(chart.title)}</text>`)
  // grid and y ticks
  for (const t of yTicks) {
    parts.push(`<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${f(sy(t))}" y2="${f(sy(t))}" stroke="#e5e5e5"/>`)
    parts.push(`<text x="${margin.left - 6}" y="${f(sy(t) + 4)}" text-anchor="end">${label(t)}</text>`)
  }
  // x ticks: the distinct x values of the data when few, else nice ticks
  const distinctX = [...new Set(xs)].sort((a, b) => a - b)
  const xTicks = distinctX.length > 0 && distinctX.length <= 8 ? distinctX : ticks(xMin, xMax)
  for (const t of xTicks) {
    parts.push(`<line x1="${f(sx(t))}" x2="${f(sx(t))}" y1="${margin.top + plotH}" y2="${margin.top + plotH + 4}" stroke="#333"/>`)
    parts.push(`<text x="${f(sx(t))}" y="${margin.top + plotH + 18}" text-anchor="middle">${label(t)}</text>`)
  }
  // axes
  parts.push(`<line x1="${margin.left}" x2="${margin.left}" y1="${margin.top}" y2="${margin.top + plotH}" stroke="#333"/>`)
  parts.push(`<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${margin.top + plotH}" y2="${margin.top + plotH}" stroke="#333"/>`)
  parts.push(`<text x="${margin.left + plotW / 2}" y="${height - 10}" text-anchor="middle">${escape(chart.xLabel)}</text>`)
  parts.push(`<text transform="translate(16 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escape(chart.yLabel)}</text>`)
  // reference lines
  for (const r of refs) {
    const color = r.color ?? '#888'
    parts.push(`<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${f(sy(r.y))}" y2="${f(sy(r.y))}" stroke="${color}" stroke-dasharray="2 3"/>`)
    parts.push(`<text x="${margin.left + plotW - 4}" y="${f(sy(r.y) - 4)}" text-anchor="end" fill="${color}">${escape(r.label)}</text>`)
  }
  // series
  chart.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length]!
    const pts = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)).sort((a, b) => a[0] - b[0])
    if (pts.length > 0) {
      parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2"${s.dashed === true ? ' stroke-dasharray="6 4"' : ''} points="${pts.map(([x, y]) => `${f(sx(x))},${f(sy(y))}`).join(' ')}"/>`)
      for (const [x, y] of pts) parts.push(`<circle cx="${f(sx(x))}" cy="${f(sy(y))}" r="3" fill="${color}"><title>${escape(s.name)}: ${label(x)}, ${label(y)}</title></circle>`)
    }
    const ly = margin.top + 10 + i * 18
    parts.push(`<line x1="${width - margin.right + 12}" x2="${width - margin.right + 36}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"${s.dashed === true ? ' stroke-dasharray="6 4"' : ''}/>`)
    parts.push(`<text x="${width - margin.right + 42}" y="${ly + 4}">${escape(s.name)}</text>`)
  })
  parts.push('</svg>')
  return parts.join('\n') + '\n'
}
