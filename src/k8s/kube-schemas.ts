/**
 * The shapes we read back from Kubernetes, one zod schema each (STYLE.md principle 3).
 * client-node hands list items over as deserialized classes with Date timestamps, watch events
 * as plain JSON with RFC 3339 strings: timestamps accept both and come out as ISO strings.
 */
import { z } from 'zod';

export const timestampSchema = z
  .union([z.string(), z.date()])
  .transform((v) => (typeof v === 'string' ? v : v.toISOString()));

export const objectMetaSchema = z.object({
  name: z.string().min(1),
  namespace: z.string().optional(),
  uid: z.string().min(1),
  resourceVersion: z.string().optional(),
  labels: z.record(z.string(), z.string()).nullish().transform((v) => v ?? {}),
  creationTimestamp: timestampSchema.nullish().transform((v) => v ?? undefined),
  deletionTimestamp: timestampSchema.nullish().transform((v) => v ?? undefined),
  ownerReferences: z
    .array(z.object({ kind: z.string(), name: z.string(), uid: z.string().optional() }).loose())
    .nullish()
    .transform((v) => v ?? []),
});

/** Any namespaced object, by its metadata only (ConfigMaps, Services, PVCs). */
export const kubeObjectRefSchema = z.object({ metadata: objectMetaSchema });

export type ObjectMeta = z.infer<typeof objectMetaSchema>;
export type KubeObjectRef = z.infer<typeof kubeObjectRefSchema>;

/** The `metadata.resourceVersion` of a BOOKMARK event or a list. */
export const resourceVersionSchema = z.object({
  metadata: z.object({ resourceVersion: z.string().optional() }).optional(),
});
