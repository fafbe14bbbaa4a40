/**
 * Kubernetes resource quantities ("500m", "1", "1.5", "1408Mi", "2Gi", "1e9", "128974848"), as
 * the API serializes `resource.Quantity`: a signed decimal number, then a binary suffix
 * (Ki Mi Gi Ti Pi Ei), a decimal suffix (n u m k M G T P E) or a decimal exponent (e3, E-2).
 * https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/quantity/
 * Pure; returns a plain number (cores for cpu, bytes for memory), exact for every value a pod's
 * requests realistically hold (well inside 2^53).
 */

const BINARY: Readonly<Record<string, number>> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Readonly<Record<string, number>> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

const QUANTITY = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:(Ki|Mi|Gi|Ti|Pi|Ei)|([eE][+-]?\d+)|(n|u|m|k|M|G|T|P|E)?)$/;

/** The quantity's value, or undefined when `text` is not a quantity. */
export function parseQuantity(text: string | number | undefined | null): number | undefined {
  if (typeof text === 'number') return Number.isFinite(text) ? text : undefined;
  if (typeof text !== 'string') return undefined;
  const match = QUANTITY.exec(text.trim());
  if (!match) return undefined;
  const [, number, binary, exponent, decimal] = match;
  const value = Number(number);
  if (!Number.isFinite(value)) return undefined;
  if (binary) return value * BINARY[binary]!;
  if (exponent) return Number(`${number}${exponent}`);
  // m (milli) of an integer: divide rather than multiply by 1e-3, so "500m" is exactly 0.5.
  if (decimal === 'm') return value / 1000;
  if (decimal === 'u') return value / 1e6;
  if (decimal === 'n') return value / 1e9;
  return value * DECIMAL[decimal ?? '']!;
}
