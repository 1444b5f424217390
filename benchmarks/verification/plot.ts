/**
 * The verification plot: for each sample rate p, the measured probability of
 * catching a cheater within k cheats (each cheat rate, and pooled) against
 * theory 1 − (1 − p)^k, with the 95 % band around theory for the pooled
 * number of windows (dashed grey). Four charts in a 2 × 2 grid, built from
 * ../network/plot.ts's line chart.
 */
import { lineChart } from '../network/plot.js'
import type { Series } from '../network/plot.js'
import type { DetectionPoint } from './detection.js'

/** One sample rate's curves. */
export interface DetectionPanel {
  p: number
  /** Pooled over cheat rates. */
  pooled: DetectionPoint[]
  /** By cheat rate. */
  byCheatRate: Array<{ cheatRate: number, points: DetectionPoint[] }>
}

const WIDTH = 600
const HEIGHT = 360

export function detectionSvg (panels: DetectionPanel[]): string {
  const charts = panels.map(panel => {
    const inside = panel.pooled.filter(point => point.inside).length
    const series: Series[] = [
      { name: 'theory 1−(1−p)^k', points: panel.pooled.map(point => [point.k, point.theory]), color: '#000000' },
      { name: 'measured, pooled', points: panel.pooled.map(point => [point.k, point.measured]), color: '#d62728' },
      ...panel.byCheatRate.map((entry, i) => ({ name: `cheat rate ${entry.cheatRate}`, points: entry.points.map(point => [point.k, point.measured] as [number, number]), color: ['#1f77b4', '#2ca02c', '#9467bd'][i % 3] as string, dashed: true })),
      { name: '95% band (pooled)', points: panel.pooled.map(point => [point.k, point.band[0]]), color: '#aaaaaa', dashed: true },
      { name: ' ', points: panel.pooled.map(point => [point.k, point.band[1]]), color: '#aaaaaa', dashed: true }
    ]
    return lineChart({
      title: `p = ${panel.p}: caught within k cheats (${inside}/${panel.pooled.length} k in band)`,
      xLabel: 'k (consecutive cheats)',
      yLabel: 'P(caught)',
      series,
      width: WIDTH,
      height: HEIGHT
    })
  })
  const inner = (svg: string): string => svg.replace(/^<svg[^>]*>\n?/, '').replace(/<\/svg>\n?$/, '')
  const columns = 2
  const rows = Math.ceil(charts.length / columns)
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH * columns}" height="${HEIGHT * rows}" viewBox="0 0 ${WIDTH * columns} ${HEIGHT * rows}" font-family="sans-serif" font-size="12">`,
    ...charts.map((chart, i) => `<g transform="translate(${(i % columns) * WIDTH} ${Math.floor(i / columns) * HEIGHT})">${inner(chart)}</g>`),
    '</svg>'
  ].join('\n') + '\n'
}
