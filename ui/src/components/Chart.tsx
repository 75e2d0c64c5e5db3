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
  testId?: string;
}

const AXIS = {
  stroke: '#8b95a5',
  grid: { stroke: 'rgba(139,149,165,0.15)' },
  ticks: { show: false },
};

export function Chart({ data, series, height, time, draw, testId }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const drawRef = useRef(draw);
  drawRef.current = draw;
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
        },
        axes: [{ ...AXIS }, { ...AXIS, size: 70 }],
        legend: { show: true },
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
  }, [series, height, time]);

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  return <div ref={box} className="chart" data-testid={testId} />;
}
