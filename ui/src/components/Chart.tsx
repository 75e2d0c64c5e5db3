// uPlot wrapped for React: the plot is built once per `series` layout and fed new data as it
// arrives; it follows its container's width.
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartProps {
  /** x values first, then one array per series. */
  data: uPlot.AlignedData;
  series: uPlot.Series[];
  height: number;
  /** x axis is time (unix seconds) or a plain number (prices). */
  time: boolean;
  /** Draws extra things (a marker) after each redraw. */
  draw?: (u: uPlot) => void;
  /** A change of this rescales and redraws, for `draw` and `yRange` to show new lines. */
  drawKey?: string;
  /** Axis titles with their units, e.g. `{ x: 'time', y: 'USD' }`. */
  labels?: { x?: string; y?: string };
  /** The y range for the data's min and max (e.g. widened to show lines); default uPlot's. */
  yRange?: (min: number, max: number) => [number, number];
  /** uPlot's own legend under the chart. @default true */
  legend?: boolean;
  testId?: string;
}

const AXIS = {
  stroke: '#8b95a5',
  grid: { stroke: 'rgba(139,149,165,0.15)' },
  ticks: { show: false },
};

export function Chart({
  data,
  series,
  height,
  time,
  draw,
  drawKey,
  labels,
  yRange,
  legend = true,
  testId,
}: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const drawRef = useRef(draw);
  drawRef.current = draw;
  const yRangeRef = useRef(yRange);
  yRangeRef.current = yRange;
  const xLabel = labels?.x;
  const yLabel = labels?.y;
  const customY = yRange !== undefined;
  const dataRef = useRef(data);
  dataRef.current = data;

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const u = new uPlot(
      {
        width: Math.max(200, el.clientWidth),
        height,
        // A time axis shows at least the last minute, so the first quotes do not stretch it
        // over years.
        scales: {
          x: time ? { time, range: (_u, min, max) => [Math.min(min, max - 60), max] } : { time },
          ...(customY && {
            y: {
              range: (_u: uPlot, min: number, max: number) =>
                yRangeRef.current?.(min, max) ?? [min, max],
            },
          }),
        },
        axes: [
          { ...AXIS, ...(xLabel && { label: xLabel, labelSize: 18 }) },
          { ...AXIS, size: 70, ...(yLabel && { label: yLabel, labelSize: 18 }) },
        ],
        legend: { show: legend },
        series: [{}, ...series],
        hooks: { draw: [(p) => drawRef.current?.(p)] },
      },
      dataRef.current,
      el,
    );
    plot.current = u;
    const ro = new ResizeObserver(() =>
      u.setSize({ width: Math.max(200, el.clientWidth), height }),
    );
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [series, height, time, xLabel, yLabel, customY, legend]);

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  useEffect(() => {
    // setData, not redraw: the y range may take in the new lines.
    if (drawKey !== undefined) plot.current?.setData(dataRef.current);
  }, [drawKey]);

  return <div ref={box} className="chart" data-testid={testId} />;
}
