/**
 * Kernelspecs: `<dir>/<name>/kernel.json` plus resources (logos). One schema for kernel.json;
 * the launcher is chosen by data (`metadata.sparkgate.launcher`).
 * Spec: https://jupyter-client.readthedocs.io/en/latest/kernels.html#kernel-specs
 */
import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { errors } from '../errors.js';

export const sparkgateMetadataSchema = z
  .object({
    launcher: z.string().default('ipykernel'),
    spark: z.boolean().default(false),
    kind: z.string().optional(),
    profile: z.record(z.string(), z.unknown()).default({}),
    /**
     * Code a pooled session runs (silently: no output, no execution count) before it counts as
     * ready, so a claimed one does not pay for its runtime's first use (a Spark session's first
     * job loads and compiles most of the scheduler: seconds on a fresh JVM).
     */
    warmup: z.string().optional(),
  })
  .loose();

export const kernelJsonSchema = z
  .object({
    argv: z.array(z.string()).min(1),
    display_name: z.string().min(1),
    language: z.string().min(1),
    interrupt_mode: z.enum(['signal', 'message']).default('signal'),
    env: z.record(z.string(), z.string()).default({}),
    metadata: z
      .object({ sparkgate: sparkgateMetadataSchema.optional() })
      .loose()
      .default({}),
  })
  .loose();

export type KernelJson = z.infer<typeof kernelJsonSchema>;
export type SparkgateMetadata = z.infer<typeof sparkgateMetadataSchema>;

export interface Kernelspec {
  name: string;
  dir: string;
  spec: KernelJson;
  sparkgate: SparkgateMetadata;
  /** Resource file names (logos) found next to kernel.json. */
  resources: string[];
}

/** Kernelspec names are directory names; Jupyter allows [a-zA-Z0-9._-]. */
const NAME_RE = /^[A-Za-z0-9._-]{1,64}$/;
const RESOURCE_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export interface KernelspecStoreOptions {
  dirs: readonly string[];
  defaultName: string;
  onInvalid?: (dir: string, message: string) => void;
}

export class KernelspecStore {
  private readonly specs = new Map<string, Kernelspec>();
  readonly defaultName: string;

  constructor(private readonly options: KernelspecStoreOptions) {
    this.defaultName = options.defaultName;
    this.reload();
  }

  reload(): void {
    this.specs.clear();
    for (const root of this.options.dirs) {
      let names: string[];
      try {
        names = readdirSync(root);
      } catch {
        continue;
      }
      for (const name of names.sort()) {
        if (!NAME_RE.test(name) || this.specs.has(name)) continue;
        const dir = path.join(root, name);
        const file = path.join(dir, 'kernel.json');
        let raw: unknown;
        try {
          raw = JSON.parse(readFileSync(file, 'utf8'));
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && (err as NodeJS.ErrnoException).code !== 'ENOTDIR') {
            this.options.onInvalid?.(dir, (err as Error).message);
          }
          continue;
        }
        const parsed = kernelJsonSchema.safeParse(raw);
        if (!parsed.success) {
          this.options.onInvalid?.(dir, parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
          continue;
        }
        const resources = readdirSync(dir).filter((f) => f !== 'kernel.json' && RESOURCE_RE.test(f) && isFile(path.join(dir, f)));
        this.specs.set(name, {
          name,
          dir,
          spec: parsed.data,
          sparkgate: sparkgateMetadataSchema.parse(parsed.data.metadata.sparkgate ?? {}),
          resources,
        });
      }
    }
  }

  list(): Kernelspec[] {
    return [...this.specs.values()];
  }

  /** The spec, or a 404 GatewayError. */
  get(name: string): Kernelspec {
    const spec = this.specs.get(name);
    if (!spec) throw errors.kernelspecNotFound(name);
    return spec;
  }

  has(name: string): boolean {
    return this.specs.has(name);
  }

  /**
   * Absolute path of a resource file, refusing anything that is not a plain file directly in the
   * spec's directory (no traversal, no symlinks pointing elsewhere).
   */
  resourcePath(name: string, resource: string): string {
    const spec = this.get(name);
    if (!RESOURCE_RE.test(resource) || resource === 'kernel.json') {
      throw errors.notFound(`No such resource ${JSON.stringify(resource.slice(0, 64))} in kernelspec ${name}`);
    }
    const file = path.join(spec.dir, resource);
    let real: string;
    try {
      real = realpathSync(file);
    } catch {
      throw errors.notFound(`No such resource ${JSON.stringify(resource)} in kernelspec ${name}`);
    }
    if (path.dirname(real) !== realpathSync(spec.dir) || !isFile(real)) {
      throw errors.notFound(`No such resource ${JSON.stringify(resource)} in kernelspec ${name}`);
    }
    return real;
  }
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}
