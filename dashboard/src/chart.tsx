// Time series charts on uPlot, and the small SVG sparkline of the streams list.
import { useEffect, useRef } from 'preact/hooks'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import { cssVar, useTheme } from './theme.ts'

export interface Series {
  label: string
  /** A CSS custom property of the theme, such as --c1. */
  color: string
  values: (number | null)[]
  /** Draws bars instead of a line. */
  bars?: boolean
}

export interface TimeChartProps {
  title: string
  /** Unix seconds of each point. */
  x: number[]
  series: Series[]
  /** Formats a y value for the legend, and for the axis unless axisFormat is given. */
  format?: (value: number) => string
  /**
   * Formats all y axis ticks at once, so that the labels can share a unit and
   * precision. Each label has about 8 characters of room.
   */
  axisFormat?: (ticks: number[]) => string[]
  height?: number
  /** Range of the x axis in Unix seconds, so that charts of one page line up. */
  range: [number, number]
}

/** Draws a uPlot chart as wide as its container. Its data-points attribute is the number of points it shows. */
export function TimeChart(props: TimeChartProps) {
  const box = useRef<HTMLDivElement>(null)
  const plot = useRef<uPlot | null>(null)
  const theme = useTheme()
  const shape = props.series.map((series) => series.label).join('\u0000')
  const data: uPlot.AlignedData = [props.x, ...props.series.map((series) => series.values)]

  useEffect(() => {
    const element = box.current
    if (element === null) return
    const foreground = cssVar('--fg')
    const grid = cssVar('--grid')
    const format = props.format ?? ((value: number) => String(value))
    const axisFormat = props.axisFormat ?? ((ticks: number[]) => ticks.map(format))
    const axis: uPlot.Axis = { stroke: foreground, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } }
    const options: uPlot.Options = {
      width: Math.max(200, element.clientWidth),
      height: props.height ?? 180,
      scales: { x: { time: true, range: () => props.range } },
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      axes: [axis, { ...axis, size: 64, values: (_plot, ticks) => axisFormat(ticks) }],
      series: [
        {},
        ...props.series.map((series) => ({
          label: series.label,
          stroke: cssVar(series.color),
          fill: series.bars ? cssVar(series.color) : undefined,
          width: 1.5,
          spanGaps: false,
          // A lone sample has no line to draw, so points show while there are few.
          points: { show: props.x.length < 40 },
          paths: series.bars ? uPlot.paths.bars?.({ size: [0.6, 40] }) : undefined,
          value: (_plot: uPlot, value: number | null) => (value === null ? '–' : format(value)),
        })),
      ],
    }
    const chart = new uPlot(options, data, element)
    plot.current = chart
    const resize = new ResizeObserver(() => chart.setSize({ width: Math.max(200, element.clientWidth), height: props.height ?? 180 }))
    resize.observe(element)
    return () => {
      resize.disconnect()
      chart.destroy()
      plot.current = null
    }
    // The chart is rebuilt when the theme, series or range change, and new data alone goes through setData below.
  }, [theme, shape, props.range[0], props.range[1], props.x.length < 40])

  useEffect(() => {
    plot.current?.setData(data)
  }, [data])

  return (
    <section class="chart">
      <h3>{props.title}</h3>
      <div ref={box} class="chart-plot" data-points={props.x.length} aria-label={props.title} />
      {props.x.length === 0 ? <p class="muted chart-empty">no data in this range</p> : null}
    </section>
  )
}

/** Draws the values as an SVG line, scaled to their own minimum and maximum. */
export function Sparkline({ values, label }: { values: number[]; label: string }) {
  const width = 120
  const height = 28
  if (values.length === 0) return <span class="muted sparkline-empty">no samples</span>
  // One sample draws as a flat line across the width.
  if (values.length === 1) values = [values[0]!, values[0]!]
  const min = Math.min(...values)
  const max = Math.max(...values)
  const span = max - min || 1
  const points = values
    .map((value, index) => {
      const x = (index / (values.length - 1)) * width
      const y = height - 2 - ((value - min) / span) * (height - 4)
      return `${x.toFixed(1)},${y.toFixed(1)}`
    })
    .join(' ')
  return (
    <svg class="sparkline" viewBox={`0 0 ${width} ${height}`} width={width} height={height} role="img" aria-label={label}>
      <polyline points={points} fill="none" stroke="currentColor" stroke-width="1.5" />
    </svg>
  )
}
