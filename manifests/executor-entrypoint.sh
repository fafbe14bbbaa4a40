#!/usr/bin/env bash
# The sparkgate image's entrypoint for executor pods, at /opt/entrypoint.sh (the executor pod
# template's `command`; Spark's Kubernetes backend appends args ["executor"] and sets the env
# below). It does what Apache Spark's own image entrypoint does for executors, for the Spark that
# the image's Python venv carries (pyspark ships no entrypoint). The test node agent
# (test/control-plane/node-agent.ts) runs every executor pod through this very script.
#
# Env from Spark: SPARK_DRIVER_URL, SPARK_EXECUTOR_ID, SPARK_EXECUTOR_CORES, SPARK_EXECUTOR_MEMORY,
# SPARK_APPLICATION_ID, SPARK_EXECUTOR_POD_IP, SPARK_RESOURCE_PROFILE_ID, SPARK_EXECUTOR_POD_NAME,
# SPARK_JAVA_OPT_<n> (JVM options in order, the module --add-opens among them), SPARK_CONF_DIR (the
# executor ConfigMap's mount), SPARK_LOCAL_DIRS. From the image: SPARK_HOME, JAVA_HOME.
set -euo pipefail

case "${1:-}" in
  executor)
    shift
    for var in SPARK_HOME SPARK_DRIVER_URL SPARK_EXECUTOR_ID SPARK_EXECUTOR_CORES SPARK_EXECUTOR_MEMORY \
      SPARK_APPLICATION_ID SPARK_EXECUTOR_POD_IP SPARK_RESOURCE_PROFILE_ID SPARK_EXECUTOR_POD_NAME; do
      if [ -z "${!var:-}" ]; then echo "entrypoint: $var is not set (is this an executor pod made by Spark?)" >&2; exit 64; fi
    done
    # SPARK_JAVA_OPT_0..n in numeric order.
    java_opts=()
    while IFS= read -r opt; do
      [ -n "$opt" ] && java_opts+=("$opt")
    done < <(env | grep -E '^SPARK_JAVA_OPT_[0-9]+=' | sort -t_ -k4 -n | sed 's/^SPARK_JAVA_OPT_[0-9]*=//')
    classpath="${SPARK_CONF_DIR:-$SPARK_HOME/conf}"
    for part in "${HADOOP_CONF_DIR:-}" "${SPARK_CLASSPATH:-}" "$SPARK_HOME/jars/*" "${SPARK_EXTRA_CLASSPATH:-}" "${SPARK_DIST_CLASSPATH:-}"; do
      [ -n "$part" ] && classpath="$classpath:$part"
    done
    cmd=(
      "${JAVA_HOME:+$JAVA_HOME/bin/}java" "${java_opts[@]}"
      "-Xms$SPARK_EXECUTOR_MEMORY" "-Xmx$SPARK_EXECUTOR_MEMORY"
      -cp "$classpath"
      org.apache.spark.scheduler.cluster.k8s.KubernetesExecutorBackend
      --driver-url "$SPARK_DRIVER_URL"
      --executor-id "$SPARK_EXECUTOR_ID"
      --cores "$SPARK_EXECUTOR_CORES"
      --app-id "$SPARK_APPLICATION_ID"
      --hostname "$SPARK_EXECUTOR_POD_IP"
      --resourceProfileId "$SPARK_RESOURCE_PROFILE_ID"
      --podName "$SPARK_EXECUTOR_POD_NAME"
    )
    # tini (in the image) reaps the executor's Python workers and forwards signals.
    if command -v tini >/dev/null 2>&1; then exec tini -s -- "${cmd[@]}"; fi
    exec "${cmd[@]}"
    ;;
  *)
    exec "$@"
    ;;
esac
