// A QR code drawn as one SVG path from uqr's module matrix (no innerHTML).
import { useMemo } from 'react';
import { encode } from 'uqr';

export function Qr({ text, size = 180 }: { text: string; size?: number }) {
  const { path, n } = useMemo(() => {
    const { data } = encode(text, { ecc: 'M', border: 2 });
    let d = '';
    data.forEach((row, y) => {
      row.forEach((on, x) => {
        if (on) d += `M${x} ${y}h1v1h-1z`;
      });
    });
    return { path: d, n: data.length };
  }, [text]);
  return (
    <svg
      className="qr"
      width={size}
      height={size}
      viewBox={`0 0 ${n} ${n}`}
      shapeRendering="crispEdges"
      role="img"
      aria-label={`QR code of ${text}`}
      data-testid="wallet-qr"
    >
      <rect width={n} height={n} fill="#fff" />
      <path d={path} fill="#000" />
    </svg>
  );
}
