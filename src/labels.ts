/**
 * Identity lives in labels and annotations so a restarted gateway can find what it owns
 * (see ARCHITECTURE.md, "Garbage collection, three layers"). These names are a contract with
 * Spark's Kubernetes backend (which stamps them on executor pods through
 * `spark.kubernetes.executor.label.*`), with the manifests, and with operators' selectors:
 * never rename them.
 */
export const LABEL_SESSION = 'sparkgate.io/session';
export const LABEL_GATEWAY = 'sparkgate.io/gateway';
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'sparkgate';

/** Labels Spark itself puts on executor pods (Spark on Kubernetes docs, "Executor pods"). */
export const SPARK_LABEL_ROLE = 'spark-role';
export const SPARK_ROLE_EXECUTOR = 'executor';
export const SPARK_LABEL_EXEC_ID = 'spark-exec-id';
export const SPARK_LABEL_APP_ID = 'spark-app-selector';
/** Spark marks executors it has decommissioned/idled with this label (value "true"). */
export const SPARK_LABEL_EXEC_INACTIVE = 'spark-exec-inactive';
