"""jupyter_kernel_test against sparkgate's `pyspark` kernel (ipykernel with a live SparkSession
`spark` on a real local driver JVM), attached through the gateway's connection file
(gateway_kernel.py). Where a sample can use Spark it does: results, rich output, errors and
completion go through the Spark session, not only plain Python."""
from __future__ import annotations

import unittest

import gateway_kernel


class PySparkKernelTests(gateway_kernel.GatewayKernelTests):
    # A cell's first Spark job starts the executor's Python workers: seconds on a busy machine.
    execute_timeout_s = 120

    language_name = "python"
    file_extension = ".py"

    code_hello_world = "print('hello, world')"
    code_stderr = "import sys; print(spark.version, file=sys.stderr)"

    completion_samples = [
        {"text": "zi", "matches": {"zip"}},
        {"text": "spark.createDataFr", "matches": {"createDataFrame"}},
        {"text": "sc.paralleli", "matches": {"parallelize"}},
    ]
    complete_code_samples = ["1", "spark.range(3).count()", "def f(x):\n  return x*2\n\n\n"]
    incomplete_code_samples = ["spark.sql('''SELECT", "def f(x):\n  x*2"]
    invalid_code_samples = ["import = 7q"]

    code_page_something = "spark.range?"
    # An AnalysisException: one `error` message (class, message, cell line), no JVM trace.
    code_generate_error = "spark.sql('SELECT * FROM sparkgate_no_such_table')"
    code_execute_result = [
        {"code": "spark.range(1, 4).selectExpr('sum(id) AS s').first()['s']", "result": "6"},
        {"code": "sc.parallelize([1, 2, 3]).map(lambda n: n * n).collect()", "result": "[1, 4, 9]"},
        {"code": "spark.range(3).toDF('n')", "mime": "text/html"},
    ]
    code_display_data = [
        {"code": "display(spark.range(2).toDF('n'))", "mime": "text/html"},
        {"code": "from IPython.display import HTML, display; display(HTML('<b>test</b>'))", "mime": "text/html"},
    ]
    code_history_pattern = "sc.parallelize*"
    # IPython reports the kernel's own session as 0 in a `range` reply (see README.md,
    # "Kernel conformance"), so only tail and search are checked, as jupyter_kernel_test does
    # for ipykernel.
    supported_history_operations = ("tail", "search")
    code_inspect_sample = "spark.range"
    code_clear_output = "from IPython.display import clear_output; clear_output()"


class PySparkIopubWelcomeTests(gateway_kernel.GatewayIopubWelcomeTests):
    support_iopub_welcome = True


if __name__ == "__main__":
    unittest.main()
