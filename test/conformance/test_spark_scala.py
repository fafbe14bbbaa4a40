"""jupyter_kernel_test against sparkgate's `spark-scala` kernel (the Scala kernel adapter over a
real spark-shell, Scala 2.13, with a live SparkSession `spark` on a local driver JVM), attached
through the gateway's connection file (gateway_kernel.py). The samples of the `scala` kernel
(test_scala.py), with Spark where a sample can use it."""
from __future__ import annotations

import unittest

import gateway_kernel
import test_scala


class SparkScalaKernelTests(test_scala.ScalaKernelTests):
    code_stderr = "System.err.println(spark.version)"

    completion_samples = [
        {"text": "List(1).hea", "matches": {"head", "headOption"}},
        {"text": "spark.createDataFr", "matches": {"createDataFrame"}},
        {"text": "sc.paralleli", "matches": {"parallelize"}},
    ]
    complete_code_samples = ["1", "spark.range(3).count()", 'spark.sql("""SELECT 1""")']
    incomplete_code_samples = ['spark.sql("""SELECT', "spark.range(3).map { n =>"]

    # An AnalysisException: one `error` message (class and message), no JVM stack trace.
    code_generate_error = 'spark.sql("SELECT * FROM sparkgate_no_such_table")'
    code_execute_result = [
        {"code": 'spark.range(1, 4).selectExpr("sum(id) AS s").first().getLong(0)', "result": "6"},
        {"code": "sc.parallelize(Seq(1, 2, 3)).map(n => n * n).collect().toList", "result": "List(1, 4, 9)"},
        {"code": 'spark.range(3).toDF("n")', "mime": "text/html"},
    ]
    code_history_pattern = "sc.parallelize*"


class SparkScalaIopubWelcomeTests(gateway_kernel.GatewayIopubWelcomeTests):
    support_iopub_welcome = True


if __name__ == "__main__":
    unittest.main()
