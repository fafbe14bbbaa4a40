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
// While a cell runs, Spark job progress (SparkContext.statusTracker) is reported as `progress`
// replies; the adapter renders them (src/adapters/scala/spark-progress.ts). When stdin closes
// (kernel shutdown or restart) the active SparkContext is stopped and the JVM exits.
// Runs in the Scala 2.11/2.12 REPL (plain `scala` kernel) and Spark 4's Scala 2.13 REPL
// (spark-shell); the interpreter and Spark are called by reflection so the file compiles
// whatever the REPL's static types are and whether Spark is on the classpath or not.
object __sparkgate {
  import java.io.{BufferedOutputStream, BufferedReader, ByteArrayInputStream, InputStreamReader, OutputStream, PrintStream}
  import java.util.Base64
  import java.util.concurrent.LinkedBlockingQueue

  private val UTF8 = java.nio.charset.Charset.forName("UTF-8")
  private val intp: AnyRef = $intp
  private val rawOut: PrintStream = System.out
  private val rawErr: PrintStream = System.err
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
  /** A JSON object whose fields keep their order. */
  private final class Obj(val fields: Seq[(String, Any)])
  private def json(v: Any): String = v match {
    case null => "null"
    case s: String => q(s)
    case n: Int => n.toString
    case n: Long => n.toString
    case b: Boolean => b.toString
    case o: Obj => o.fields.map { case (k, x) => q(k) + ":" + json(x) }.mkString("{", ",", "}")
    case xs: Seq[_] => xs.map(json).mkString("[", ",", "]")
    case other => q(String.valueOf(other))
  }
  private def send(fields: (String, Any)*): Unit = {
    userOut.flush(); userErr.flush()
    val body = json(new Obj(fields)).getBytes(UTF8)
    frame('m', body, 0, body.length)
  }
  private def reply(fields: (String, Any)*): Unit = {
    send(fields: _*)
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

  // ---- Spark, by reflection (absent in the plain Scala kernel) ----
  private def module(name: String): AnyRef = Class.forName(name).getField("MODULE$").get(null)
  private def call(o: AnyRef, name: String): AnyRef = o.getClass.getMethod(name).invoke(o)
  /** The driver's running SparkContext, if Spark is on the classpath and one is active. */
  private def activeContext(): Option[AnyRef] =
    try call(module("org.apache.spark.SparkContext$"), "getActive") match {
      case Some(sc: AnyRef) => Some(sc)
      case _ => None
    } catch {
      case _: Throwable =>
        try call(module("org.apache.spark.sql.SparkSession$"), "getDefaultSession") match {
          case Some(s: AnyRef) => Some(call(s, "sparkContext"))
          case _ => None
        } catch { case _: Throwable => None }
    }

  // A Dataset result is fetched once (take(n + 1)) and sent as a table; the adapter renders it as
  // text (like show()) and HTML, as the Python kernel does (kernel/python/sparkgate_kernel/display.py).
  private val MaxCellChars = 1000
  /** spark.sql.repl.eagerEval.maxNumRows of the session (default 20), as in the Python kernel. */
  private def maxRows(): Int =
    try call(module("org.apache.spark.sql.SparkSession$"), "getDefaultSession") match {
      case Some(session: AnyRef) =>
        val conf = call(session, "conf")
        val v = conf.getClass.getMethod("get", classOf[String], classOf[String]).invoke(conf, "spark.sql.repl.eagerEval.maxNumRows", "20")
        math.min(math.max(String.valueOf(v).trim.toInt, 1), 10000)
      case _ => 20
    } catch { case _: Throwable => 20 }
  private def datasetClass: Option[Class[_]] = try Some(Class.forName("org.apache.spark.sql.Dataset")) catch { case _: Throwable => None }
  private def cellText(v: Any): String = {
    val s = v match {
      case null => "null"
      case b: Array[Byte] => b.map("%02X".format(_)).mkString("[", " ", "]")
      case other => try scala.runtime.ScalaRunTime.stringOf(other, 100) catch { case _: Throwable => String.valueOf(other) }
    }
    if (s.length > MaxCellChars) s.substring(0, MaxCellChars - 1) + "\u2026" else s
  }
  private def table(v: Any): Option[Obj] = v match {
    case ds: AnyRef if datasetClass.exists(_.isInstance(ds)) =>
      val cls = datasetClass.get
      val df = cls.getMethod("toDF").invoke(ds)
      val columns = cls.getMethod("columns").invoke(df).asInstanceOf[Array[String]].toSeq
      val max = maxRows()
      val fetched = if (columns.isEmpty) Array.empty[AnyRef] else cls.getMethod("take", classOf[Int]).invoke(df, Int.box(max + 1)).asInstanceOf[Array[AnyRef]]
      val rowCls = Class.forName("org.apache.spark.sql.Row")
      val rows = fetched.take(max).toSeq.map { r =>
        val n = rowCls.getMethod("length").invoke(r).asInstanceOf[Int]
        (0 until n).map(i => cellText(rowCls.getMethod("get", classOf[Int]).invoke(r, Int.box(i))))
      }
      Some(new Obj(Seq("columns" -> columns, "rows" -> rows, "truncated" -> (fetched.length > max))))
    case _ => None
  }

  // ---- Spark job progress of the running cell (the Python kernel's progress.py, in the JVM) ----
  // A thread polls sc.statusTracker every interval; from the first poll that sees a job on, it
  // sends `progress` with every job it saw (raw counts; the adapter renders and decides what a
  // finished job's unrun stages are). When the cell ends it polls once more and sends `final`.
  // Cells whose jobs finish within one interval get nothing.
  private lazy val progressIntervalMs: Long =
    try {
      val s = sys.env.getOrElse("SPARKGATE_SPARK_PROGRESS_INTERVAL_S", "0.5").trim.toDouble
      if (s > 0) math.max(50L, (s * 1000).toLong) else 0L
    } catch { case _: Throwable => 500L }
  private val MaxJobsSent = 32

  private final class CellProgress(cell: String) extends Runnable {
    private val lock = new Object
    private val jobs = scala.collection.mutable.HashMap.empty[Int, Obj]
    private val finished = scala.collection.mutable.Set.empty[Int]
    private var tracker: AnyRef = null
    private var stopped = false
    private var failed = false
    private var shown = false
    private var last = ""
    private val thread = new Thread(this, "sparkgate-progress")
    thread.setDaemon(true)
    def start(): Unit = thread.start()

    def run(): Unit = {
      while (lock.synchronized { if (!stopped) lock.wait(progressIntervalMs); !stopped }) {
        poll(); publish(isFinal = false)
      }
    }

    def finish(): Unit = {
      lock.synchronized { stopped = true; lock.notifyAll() }
      thread.join(5000)
      if (shown && !thread.isAlive) { poll(); publish(isFinal = true) }
    }

    private def stageInfo(id: Int): Option[Obj] =
      tracker.getClass.getMethod("getStageInfo", classOf[Int]).invoke(tracker, Int.box(id)) match {
        case Some(st: AnyRef) =>
          val c = Class.forName("org.apache.spark.SparkStageInfo")
          def n(name: String): Int = c.getMethod(name).invoke(st).asInstanceOf[Int]
          Some(new Obj(Seq("stage_id" -> id, "num_tasks" -> n("numTasks"), "active" -> n("numActiveTasks"),
            "completed" -> n("numCompletedTasks"), "failed" -> n("numFailedTasks"))))
        case _ => None
      }

    private def poll(): Unit = if (!failed) try {
      if (tracker == null) activeContext().foreach(sc => tracker = call(sc, "statusTracker"))
      if (tracker != null) {
        val active = tracker.getClass.getMethod("getActiveJobIds").invoke(tracker).asInstanceOf[Array[Int]]
        val jobInfo = Class.forName("org.apache.spark.SparkJobInfo")
        for (id <- (jobs.keySet ++ active).toList.sorted if !finished(id)) {
          tracker.getClass.getMethod("getJobInfo", classOf[Int]).invoke(tracker, Int.box(id)) match {
            case Some(info: AnyRef) =>
              val status = String.valueOf(jobInfo.getMethod("status").invoke(info))
              val stageIds = jobInfo.getMethod("stageIds").invoke(info).asInstanceOf[Array[Int]].toSeq
              jobs(id) = new Obj(Seq("job_id" -> id, "status" -> status, "stage_ids" -> stageIds, "stages" -> stageIds.flatMap(stageInfo)))
              if (status == "SUCCEEDED" || status == "FAILED") finished += id
            case _ => () // not yet (or no longer) known to the tracker: keep what we had
          }
        }
      }
    } catch {
      case e: Throwable =>
        failed = true // best effort: never the cell's problem
        rawErr.println("sparkgate: Spark progress polling stopped: " + e)
    }

    private def publish(isFinal: Boolean): Unit = {
      if (jobs.isEmpty || (!shown && isFinal)) return
      val sent = jobs.toSeq.sortBy(_._1).map(_._2).takeRight(MaxJobsSent)
      val body = json(sent)
      if (body == last && !isFinal) return
      shown = true
      last = body
      send("type" -> "progress", "id" -> cell, "final" -> isFinal, "hidden" -> (jobs.size - sent.size), "jobs" -> sent)
    }
  }
  private def startProgress(cell: String): CellProgress =
    if (progressIntervalMs <= 0 || datasetClass.isEmpty) null
    else { val p = new CellProgress(cell); p.start(); p }

  // ---- requests ----
  private def execute(id: String, code: String): Unit = {
    val before = recentVar()
    val exBefore = valueOf("lastException")
    interruptedCell = null
    val progress = startProgress(id)
    running = id
    val result = try {
      Console.withOut(userOut) { Console.withErr(userErr) { Console.withIn(noInput) { String.valueOf(mInterpret.invoke(intp, code)) } } }
    } catch {
      case e: java.lang.reflect.InvocationTargetException => "Error:" + e.getCause
      case e: Throwable => "Error:" + e
    } finally {
      running = null
      if (progress != null) progress.finish()
    }
    val wasInterrupted = interruptedCell == id
    Thread.interrupted() // clear a pending interrupt flag: it belongs to the cell
    result match {
      case "Success" =>
        val after = recentVar()
        val value = if (after != null && after != before && after != "lastException") valueOf(after) else None
        value match {
          case Some(v) if v != (()) && !v.isInstanceOf[scala.runtime.BoxedUnit] =>
            val shown = try table(v) catch { case e: Throwable => userErr.println("sparkgate: cannot show the Dataset: " + e); None }
            shown match {
              case Some(t) => reply("type" -> "done", "id" -> id, "status" -> "ok", "value" -> render(v), "table" -> t)
              case None => reply("type" -> "done", "id" -> id, "status" -> "ok", "value" -> render(v))
            }
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

  // Scala 2.13's REPL completer (spark-shell of Spark 4): ReplCompletion(repl, accumulator).
  private def completeWith213(code: String, cursor: Int): Option[(Int, List[String])] =
    try {
      val cls = Class.forName("scala.tools.nsc.interpreter.shell.ReplCompletion")
      val acc = Class.forName("scala.tools.nsc.interpreter.shell.Accumulator").getConstructor().newInstance().asInstanceOf[AnyRef]
      val completer = cls.getConstructors.find(_.getParameterTypes.length == 2).get.newInstance(intp, acc)
      val result = cls.getMethod("complete", classOf[String], classOf[Int]).invoke(completer, code, Int.box(cursor))
      val at = call(result, "cursor").asInstanceOf[Int]
      val names = call(result, "candidates").asInstanceOf[List[AnyRef]].map(c => String.valueOf(call(c, "name"))).filter(_.trim.nonEmpty).distinct
      if (at < 0 || names.isEmpty) None else Some((at, names))
    } catch { case _: Throwable => None }

  private def complete(id: String, cursor: Int, code: String): Unit = {
    // The presentation compiler knows members (`xs.ma`); Scala 2.11's older completer also knows
    // the names in scope (`gree`), which the former does not offer there.
    val found = completeWith213(code, cursor)
      .orElse(completeWith("scala.tools.nsc.interpreter.PresentationCompilerCompleter", code, cursor))
      .orElse(completeWith("scala.tools.nsc.interpreter.JLineCompletion", code, cursor))
    found match {
      case Some((at, names)) => reply("type" -> "completion", "id" -> id, "cursor" -> at, "matches" -> names)
      case None => reply("type" -> "completion", "id" -> id, "cursor" -> cursor, "matches" -> Seq.empty[String])
    }
  }

  // ---- interrupt: cancel Spark jobs, then the statement; the REPL and its definitions stay ----
  private def cancelSparkJobs(): Boolean =
    activeContext().exists { sc => try { call(sc, "cancelAllJobs"); true } catch { case _: Throwable => false } }
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
  // Thread.stop is deprecated (and gone after Java 19): called by reflection, without a warning.
  private def stopThread(t: Thread): Unit =
    try classOf[Thread].getMethod("stop").invoke(t)
    catch { case e: java.lang.reflect.InvocationTargetException => throw e.getCause }

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
    // The adapter is gone or shutting the kernel down (its end of our stdin closed).
    shutdown()
  }

  /**
   * Stop the SparkContext (its executors, UI and block manager), then exit through the JVM's
   * shutdown hooks, which delete Spark's temporary directories (the REPL's class dir among them).
   * A watchdog halts the JVM if any of this hangs.
   */
  private def shutdown(): Unit = {
    val watchdog = new Thread(new Runnable {
      def run(): Unit = { Thread.sleep(15000); Runtime.getRuntime.halt(0) }
    }, "sparkgate-exit-watchdog")
    watchdog.setDaemon(true)
    watchdog.start()
    activeContext().foreach { sc =>
      try { call(sc, "stop"); rawErr.println("sparkgate: SparkContext stopped") }
      catch { case e: Throwable => rawErr.println("sparkgate: SparkContext.stop failed: " + e) }
    }
    rawErr.flush()
    System.exit(0)
  }

  private def sparkVersion(): String =
    try { val p = Class.forName("org.apache.spark.package$"); String.valueOf(p.getMethod("SPARK_VERSION").invoke(p.getField("MODULE$").get(null))) }
    catch { case _: Throwable => "" }

  private def b64(s: String): String = new String(Base64.getDecoder.decode(s), UTF8)

  def serve(sessionKey: String): Unit = {
    key = sessionKey
    evalThread = Thread.currentThread
    ownLines = evalThread.getStackTrace.map(_.getClassName).filter(_.startsWith("$line")).map(c => c.substring(0, c.indexOf('.') + 1)).toSet
    // The REPL must not print `val res0: Int = 2` itself: values come back in `done`. The switch
    // is on the interpreter in Scala 2.11/2.12 and on its reporter in 2.13.
    def quiet(target: AnyRef): Boolean =
      target.getClass.getMethods.find(_.getName == "printResults_$eq") match {
        case Some(m) => m.invoke(target, java.lang.Boolean.FALSE); true
        case None => false
      }
    if (!quiet(intp)) try quiet(call(intp, "reporter")) catch { case _: Throwable => false }
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
