/**
 * Spark memory strings ("512m", "4g", "1t"), parsed the way Spark reads `spark.executor.memory`
 * and friends (JavaUtils.byteStringAs: binary units, case-insensitive, optional trailing "b"), so
 * requests can be compared with policy limits.
 * https://spark.apache.org/docs/latest/configuration.html#spark-properties ("JVM memory strings")
 */

const UNIT_BYTES = { k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 } as const;
type Unit = keyof typeof UNIT_BYTES;

const MEMORY_PATTERN = /^(\d{1,7})\s*([kmgt])b?$/i;
const BARE_NUMBER = /^\d{1,9}$/;

/** A valid example to show next to every memory-size error. */
export const MEMORY_SIZE_EXAMPLE = '4g';

export interface MemorySize {
  readonly bytes: number;
  /** Canonical Spark form: whole number + one lower-case unit letter, e.g. "4g". */
  readonly text: string;
}

export interface ParseMemorySizeOptions {
  /**
   * Unit of a bare number. Spark reads bare numbers as MiB for keys like
   * `spark.executor.memoryOverhead`; for our own settings and KERNEL_* variables a unit is
   * required (leave this unset) because "4096" is too easy to misread.
   */
  defaultUnit?: Unit;
}

/** Parse a memory string; `undefined` when it is not one. Zero is not a size. */
export function parseMemorySize(input: string, options: ParseMemorySizeOptions = {}): MemorySize | undefined {
  const text = input.trim();
  let amount: number;
  let unit: Unit;
  const match = MEMORY_PATTERN.exec(text);
  if (match) {
    amount = Number(match[1]);
    unit = match[2]!.toLowerCase() as Unit;
  } else if (options.defaultUnit !== undefined && BARE_NUMBER.test(text)) {
    amount = Number(text);
    unit = options.defaultUnit;
  } else {
    return undefined;
  }
  if (amount <= 0) return undefined;
  return { bytes: amount * UNIT_BYTES[unit], text: `${amount}${unit}` };
}
