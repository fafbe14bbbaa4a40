"""jupyter_kernel_test against sparkgate's `scala` kernel (the Scala kernel adapter over a real
Scala REPL, `scala -Xnojline`), attached through the gateway's connection file
(gateway_kernel.py). The fields left unset are checks the Scala kernels do not support; README.md
("Kernel conformance") says why."""
from __future__ import annotations

import unittest

import gateway_kernel


class ScalaKernelTests(gateway_kernel.GatewayKernelTests):
    # The REPL compiles every cell (scalac in the JVM); with Spark, a first job starts tasks.
    execute_timeout_s = 120

    language_name = "scala"
    file_extension = ".scala"

    code_hello_world = 'println("hello, world")'
    code_stderr = 'System.err.println("oops")'

    completion_samples = [
        {"text": "List(1).hea", "matches": {"head", "headOption"}},
        {"text": "scala.collection.mutable.ArrayBu", "matches": {"ArrayBuffer", "ArrayBuilder"}},
    ]
    complete_code_samples = ["1", 'println("hello, world")', "def f(x: Int) = {\n  x * 2\n}"]
    incomplete_code_samples = ["def f(x: Int) = {", 'val s = """abc', "List(1,"]
    invalid_code_samples = ["val x = )", '"unterminated']

    code_generate_error = 'throw new RuntimeException("conformance")'
    code_execute_result = [
        {"code": "1 + 2 + 3", "result": "6"},
        {"code": "List(1, 2, 3).map(n => n * n)", "result": "List(1, 4, 9)"},
    ]
    code_history_pattern = "1 + 2*"
    supported_history_operations = ("tail", "range", "search")


class ScalaIopubWelcomeTests(gateway_kernel.GatewayIopubWelcomeTests):
    support_iopub_welcome = True


if __name__ == "__main__":
    unittest.main()
