/** A uPlot time-series chart that follows the width of its box. */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

const COLORS = ['#2f6fde', '#d9480f', '#2b8a3e', '#862e9c', '#c92a2a', '#1098ad', '#e67700', '#495057'];

export interface ChartProps {
  /** one name per series after the time axis */
  series: string[];
  /** [times in seconds, ...one array of values per series] */
  data: (number | null)[][];
  height?: number;
  testId?: string;
}

export function Chart({ series, data, height = 180, testId }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const key = series.join('\u0000');

  useEffect(() => {
    const el = box.current!;
    const u = new uPlot(
      {
        width: Math.max(200, el.clientWidth),
        height,
        legend: { show: true },
        scales: { x: { time: true } },
        axes: [{}, { size: 56 }],
        series: [{}, ...series.map((label, i) => ({ label, stroke: COLORS[i % COLORS.length], width: 2, spanGaps: true }))],
      },
      data as uPlot.AlignedData,
      el,
    );
    plot.current = u;
    const ro = new ResizeObserver(() => u.setSize({ width: Math.max(200, el.clientWidth), height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [key, height]);

  useEffect(() => {
    plot.current?.setData(data as uPlot.AlignedData);
  }, [data]);

  return <div class="chart" ref={box} data-testid={testId} />;
}
