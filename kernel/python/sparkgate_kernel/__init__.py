"""sparkgate's kernel launcher: ipykernel with a SparkSession built from the gateway's rendered conf.

Run as ``python -m sparkgate_kernel --kind {python|pyspark|spark-sql} -f CONNECTION_FILE``.
Importing this package has no side effects (no Spark, no ipykernel, no output).
"""

__version__ = "0.1.0"
