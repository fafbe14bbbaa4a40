// sparkgate REPL kernel helper, loaded by the kernel adapter (src/adapters/scala) as the REPL's
// first input: `:paste <this file>`, then `__sparkgate.serve("<session key>")`, which never
// returns: from then on cells are evaluated by this loop through the REPL's own interpreter
// (`$intp.interpret`, what `:paste` does), so definitions, imports and `resN` behave as in the
// REPL and a multi-line cell is compiled as one unit.
//
// Channels (all on the JVM's original stdout, in write order, so nothing can be reordered):
//   - user output (System.out/err, Console.out/err) is re-framed:  \u0001KEY:o:<n>\u0002<n bytes>
//     (`e` for stderr): the adapter never parses user bytes, so a cell may print anything;
//   - replies of this loop are framed the same way with kind `m` and a JSON body;
//   - everything else is the REPL's own text (compiler errors, runtime stack traces).
// KEY is a random secret of the session; requests arrive one per line on stdin:
//   X <id> <base64 code> | C <id> <cursor> <base64 code> | I (interrupt, handled at once)
// Written against the Scala 2.11/2.12 REPL; the interpreter is called by reflection so the file
// compiles whatever the REPL's static types are.
object __sparkgate {
  import java.io.{BufferedOutputStream, BufferedReader, ByteArrayInputStream, InputStreamReader, OutputStream, PrintStream}
  import java.util.Base64
  import java.util.concurrent.LinkedBlockingQueue

  private val UTF8 = java.nio.charset.Charset.forName("UTF-8")
  private val intp: AnyRef = $intp
  private val rawOut: PrintStream = System.out
  // Frames go out in ONE unbuffered write each (after flushing the REPL's own buffered text), so
  // a statement stopped by an interrupt can lose a frame but never leave half of one.
  private val fdOut = new java.io.FileOutputStream(java.io.FileDescriptor.out)
  private val rawIn = System.in
  @volatile private var key: String = ""
  @volatile private var evalThread: Thread = null
  @volatile private var running: String = null
  @volatile private var interruptedCell: String = null
  @volatile private var answered: Boolean = true
  private var ownLines: Set[String] = Set.empty
  private val requests = new LinkedBlockingQueue[String]()

  // ---- framing ----
  private def frame(kind: Char, bytes: Array[Byte], off: Int, len: Int): Unit = {
    if (len <= 0) return
    val header = ("\u0001" + key + ":" + kind + ":" + len + "\u0002").getBytes(UTF8)
    val all = new Array[Byte](header.length + len)
    System.arraycopy(header, 0, all, 0, header.length)
    System.arraycopy(bytes, off, all, header.length, len)
    rawOut.synchronized { rawOut.flush(); fdOut.write(all, 0, all.length) }
  }
  private class Framed(kind: Char) extends OutputStream {
    override def write(b: Int): Unit = frame(kind, Array(b.toByte), 0, 1)
    override def write(b: Array[Byte], off: Int, len: Int): Unit = frame(kind, b, off, len)
  }
  private val userOut = new PrintStream(new BufferedOutputStream(new Framed('o'), 8192), true, "UTF-8")
  private val userErr = new PrintStream(new BufferedOutputStream(new Framed('e'), 8192), true, "UTF-8")
  private val noInput = new ByteArrayInputStream(new Array[Byte](0))

  private def q(s: String): String = {
    val b = new StringBuilder("\"")
    s.foreach {
      case '"' => b.append("\\\"")
      case '\\' => b.append("\\\\")
      case c if c < ' ' || c == '\u2028' || c == '\u2029' => b.append("\\u%04x".format(c.toInt))
      case c => b.append(c)
    }
    b.append('"').toString
  }
  private def reply(fields: (String, Any)*): Unit = {
    userOut.flush(); userErr.flush()
    val body = fields.map { case (k, v) =>
      val value = v match {
        case null => "null"
        case s: String => q(s)
        case n: Int => n.toString
        case b: Boolean => b.toString
        case xs: Seq[_] => xs.map(x => q(String.valueOf(x))).mkString("[", ",", "]")
        case other => q(String.valueOf(other))
      }
      q(k) + ":" + value
    }.mkString("{", ",", "}").getBytes(UTF8)
    frame('m', body, 0, body.length)
    answered = true
  }

  // ---- the interpreter, by reflection ----
  private def method(name: String, arity: Int): Option[java.lang.reflect.Method] =
    intp.getClass.getMethods.find(m => m.getName == name && m.getParameterTypes.length == arity &&
      (arity == 0 || m.getParameterTypes()(0) == classOf[String]))
  private lazy val mInterpret = method("interpret", 1).get
  private lazy val mValueOfTerm = method("valueOfTerm", 1)
  private lazy val mMostRecentVar = method("mostRecentVar", 0)
  private def valueOf(name: String): Option[Any] =
    try mValueOfTerm.map(_.invoke(intp, name)).collect { case o: Option[_] => o }.flatten catch { case _: Throwable => None }
  private def recentVar(): String = try mMostRecentVar.map(m => String.valueOf(m.invoke(intp))).orNull catch { case _: Throwable => null }

  private def render(v: Any): String = {
    val s = try scala.runtime.ScalaRunTime.stringOf(v, 1000) catch { case _: Throwable => String.valueOf(v) }
    if (s.length > 1000000) s.substring(0, 1000000) + "..." else s
  }

  // ---- requests ----
  private def execute(id: String, code: String): Unit = {
    val before = recentVar()
    val exBefore = valueOf("lastException")
    interruptedCell = null
    running = id
    val result = try {
      Console.withOut(userOut) { Console.withErr(userErr) { Console.withIn(noInput) { String.valueOf(mInterpret.invoke(intp, code)) } } }
    } catch {
      case e: java.lang.reflect.InvocationTargetException => "Error:" + e.getCause
      case e: Throwable => "Error:" + e
    } finally {
      running = null
    }
    val wasInterrupted = interruptedCell == id
    Thread.interrupted() // clear a pending interrupt flag: it belongs to the cell
    result match {
      case "Success" =>
        val after = recentVar()
        val value = if (after != null && after != before && after != "lastException") valueOf(after) else None
        value match {
          case Some(v) if v != (()) && !v.isInstanceOf[scala.runtime.BoxedUnit] =>
            reply("type" -> "done", "id" -> id, "status" -> "ok", "value" -> render(v))
          case _ => reply("type" -> "done", "id" -> id, "status" -> "ok")
        }
      case "Incomplete" => reply("type" -> "done", "id" -> id, "status" -> "incomplete")
      case other =>
        val exAfter = valueOf("lastException")
        val thrown = exAfter match {
          case Some(t: Throwable) if !exBefore.exists(_.asInstanceOf[AnyRef] eq t) || recentVar() == "lastException" && before != "lastException" => Some(t)
          case _ => None
        }
        if (wasInterrupted) reply("type" -> "done", "id" -> id, "status" -> "interrupted", "ename" -> thrown.map(_.getClass.getName).getOrElse(""))
        else thrown match {
          case Some(t) => reply("type" -> "done", "id" -> id, "status" -> "runtime_error", "ename" -> t.getClass.getName, "evalue" -> Option(t.getMessage).getOrElse(""))
          case None if other.startsWith("Error:") => reply("type" -> "done", "id" -> id, "status" -> "internal_error", "evalue" -> other.substring(6))
          case None => reply("type" -> "done", "id" -> id, "status" -> "compile_error")
        }
    }
  }

  // (cursor, names) from one completer class; None when the class is absent or finds nothing.
  private def completeWith(className: String, code: String, cursor: Int): Option[(Int, List[String])] =
    try {
      // A fresh completer per request: the REPL's one counts repeated TABs and then answers with
      // type signatures instead of names.
      val cls = Class.forName(className)
      val instance = cls.getConstructors.find(_.getParameterTypes.length == 1).get.newInstance(intp)
      val completer = if (className.endsWith("JLineCompletion")) cls.getMethod("completer").invoke(instance) else instance
      val m = completer.getClass.getMethods.find(m => m.getName == "complete" && m.getParameterTypes.length == 2).get
      val candidates = m.invoke(completer, code, Int.box(cursor))
      val at = candidates.getClass.getMethod("cursor").invoke(candidates).asInstanceOf[Int]
      val names = candidates.getClass.getMethod("candidates").invoke(candidates).asInstanceOf[List[String]].filter(_.trim.nonEmpty).distinct
      if (at < 0 || names.isEmpty) None else Some((at, names))
    } catch { case _: Throwable => None }

  private def complete(id: String, cursor: Int, code: String): Unit = {
    // The presentation compiler knows members (`xs.ma`); Scala 2.11's older completer also knows
    // the names in scope (`gree`), which the former does not offer there.
    val found = completeWith("scala.tools.nsc.interpreter.PresentationCompilerCompleter", code, cursor)
      .orElse(completeWith("scala.tools.nsc.interpreter.JLineCompletion", code, cursor))
    found match {
      case Some((at, names)) => reply("type" -> "completion", "id" -> id, "cursor" -> at, "matches" -> names)
      case None => reply("type" -> "completion", "id" -> id, "cursor" -> cursor, "matches" -> Seq.empty[String])
    }
  }

  // ---- interrupt: cancel Spark jobs, then the statement; the REPL and its definitions stay ----
  private def cancelSparkJobs(): Boolean = {
    def module(name: String): AnyRef = Class.forName(name).getField("MODULE$").get(null)
    def cancel(sc: AnyRef): Boolean = { sc.getClass.getMethod("cancelAllJobs").invoke(sc); true }
    try {
      val ctx = module("org.apache.spark.SparkContext$")
      ctx.getClass.getMethod("getActive").invoke(ctx) match {
        case Some(sc: AnyRef) => cancel(sc)
        case _ => false
      }
    } catch {
      case _: Throwable =>
        try {
          val ss = module("org.apache.spark.sql.SparkSession$")
          ss.getClass.getMethod("getDefaultSession").invoke(ss) match {
            case Some(s: AnyRef) => cancel(s.getClass.getMethod("sparkContext").invoke(s))
            case _ => false
          }
        } catch { case _: Throwable => false }
    }
  }
  private def inUserCode(t: Thread): Boolean =
    t.getStackTrace.exists { f => val c = f.getClassName; c.startsWith("$line") && !ownLines.exists(c.startsWith) }

  def interrupt(): Unit = {
    val cancelled = cancelSparkJobs()
    val t = evalThread
    val cell = running
    if (t == null || cell == null) return
    interruptedCell = cell
    t.interrupt()
    // Cooperative first (InterruptedException, a cancelled Spark job); a statement that ignores
    // both is stopped, but only while it runs user code, never inside the compiler.
    new Thread(new Runnable {
      def run(): Unit = {
        val deadline = System.currentTimeMillis + 30000
        Thread.sleep(if (cancelled) 1500 else 300)
        while (running == cell && System.currentTimeMillis < deadline) {
          if (inUserCode(t)) {
            try stopThread(t) catch { case e: Throwable => System.err.println("sparkgate: cannot stop the statement: " + e) }
            return
          }
          Thread.sleep(50)
        }
      }
    }, "sparkgate-interrupt").start()
  }
  @deprecated("", "") private def stopThread(t: Thread): Unit = t.stop()

  private def installSignalHandler(): Unit =
    try {
      // SIGINT would end a plain REPL's JVM; spark-shell's own handler only cancels jobs.
      sun.misc.Signal.handle(new sun.misc.Signal("INT"), new sun.misc.SignalHandler {
        def handle(s: sun.misc.Signal): Unit = interrupt()
      })
    } catch { case e: Throwable => System.err.println("sparkgate: no SIGINT handler: " + e) }

  private def readRequests(): Unit = {
    val in = new BufferedReader(new InputStreamReader(rawIn, UTF8))
    var line = in.readLine()
    while (line != null) {
      if (line == "I") interrupt() else if (line.nonEmpty) requests.put(line)
      line = in.readLine()
    }
    // The adapter is gone (its end of our stdin closed): nobody is left to serve.
    Runtime.getRuntime.halt(0)
  }

  private def sparkVersion(): String =
    try { val p = Class.forName("org.apache.spark.package$"); String.valueOf(p.getMethod("SPARK_VERSION").invoke(p.getField("MODULE$").get(null))) }
    catch { case _: Throwable => "" }

  private def b64(s: String): String = new String(Base64.getDecoder.decode(s), UTF8)

  def serve(sessionKey: String): Unit = {
    key = sessionKey
    evalThread = Thread.currentThread
    ownLines = evalThread.getStackTrace.map(_.getClassName).filter(_.startsWith("$line")).map(c => c.substring(0, c.indexOf('.') + 1)).toSet
    method("printResults_$eq", 1).orElse(intp.getClass.getMethods.find(_.getName == "printResults_$eq")).foreach(_.invoke(intp, java.lang.Boolean.FALSE))
    System.setOut(userOut)
    System.setErr(userErr)
    System.setIn(noInput)
    installSignalHandler()
    val reader = new Thread(new Runnable { def run(): Unit = readRequests() }, "sparkgate-requests")
    reader.setDaemon(true)
    reader.start()
    val pid = java.lang.management.ManagementFactory.getRuntimeMXBean.getName.takeWhile(_ != '@')
    reply("type" -> "ready", "pid" -> pid, "scala_version" -> scala.util.Properties.versionNumberString,
      "java_version" -> System.getProperty("java.version"), "java_vm" -> System.getProperty("java.vm.name"),
      "spark_version" -> sparkVersion())
    var current: String = null
    while (true) {
      try {
        val parts = requests.take().split(" ")
        answered = false
        current = if (parts.length > 1) parts(1) else null
        parts(0) match {
          case "X" => execute(parts(1), if (parts.length > 2) b64(parts(2)) else "")
          case "C" => complete(parts(1), parts(2).toInt, if (parts.length > 3) b64(parts(3)) else "")
          case other => reply("type" -> "unknown", "request" -> other)
        }
      } catch {
        case _: ThreadDeath =>
          // A stop that arrived as its cell was ending: the cell still gets its answer.
          running = null
          if (!answered && current != null) reply("type" -> "done", "id" -> current, "status" -> "interrupted")
        case _: InterruptedException => ()
        case e: Throwable => try reply("type" -> "failure", "message" -> String.valueOf(e)) catch { case _: Throwable => () }
      }
    }
  }
}
