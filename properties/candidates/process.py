"""The parent's side of the worker process: start it, send it requests, enforce every deadline.

One ``Worker`` serves a whole run: started once, it imports the target and answers every call
into user code (``request``).  The deadline of each request is kept here, in the parent: when it
passes, the worker's whole process group is killed (SIGKILL), which no signal handler, thread or
``except BaseException`` of the candidate's can stop, and the request becomes a "timed out"
verdict.  Every other way a worker can end is a verdict too: an exit with any code (0 included),
a signal (a segmentation fault, the out-of-memory killer), or its end of the pipe closed.  After
such an end the next request starts a fresh worker (``restart``) and loads the target again.

What the candidate prints goes to a temporary file, never to gradcert's stdout; its last lines
come with a failure (``output_tail``).  Threads and child processes of the candidate die with
its worker: at the end of a run the process group is killed whatever it still holds.

Two ways to start:

* ``spawn`` (the default): a fresh interpreter, ``python -c BOOTSTRAP``, that imports the target
  by its module name: fully isolated, ~0.1 s;
* ``fork``: for an object that exists only in the caller's process (a class defined in a test
  function, an instance); POSIX only.  ``in_process`` is the fallback where neither can work;
  the certificate then says the candidate was not isolated.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings

from gradcert.properties.candidates.protocol import HEADER, MAX_MESSAGE, ChannelError, loads_safely, send
from gradcert.properties.candidates.verdicts import CandidateFailure

# With -c, sys.path[0] is the current directory: taken off before anything is imported, so that a
# user's numpy.py (or gradcert/) in that directory cannot stand in for the worker's own imports.
# The target's directory is put back in front by the load request.
BOOTSTRAP = (
    "import sys; del sys.path[0]; from gradcert.properties.candidates.worker import main; main(sys.argv[1:])"
)
STARTUP_TIMEOUT = 120.0  # seconds for the interpreter and NumPy to start: not the candidate's time
QUIT_GRACE = 1.0  # seconds a quitting worker gets before its group is killed
TAIL_LINES, TAIL_CHARS = 15, 2000


INTERRUPTED = threading.Event()  # set by ``interruptible``'s SIGINT handler


@contextlib.contextmanager
def interruptible():
    """Ctrl-C ends a run even when a library swallows the KeyboardInterrupt (``import jax`` prints it
    and carries on): the handler also records it, and every wait for the worker raises it again.
    For gradcert's own command; an ignored SIGINT (a background job) stays ignored."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return

    def interrupt(signum, frame):
        INTERRUPTED.set()
        raise KeyboardInterrupt

    INTERRUPTED.clear()
    signal.signal(signal.SIGINT, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


class Worker:
    """A worker process for one run.  ``timeout`` is the deadline of each call into user code."""

    def __init__(self, *, timeout, cwd=None, mode="spawn", objects=None):
        if mode not in ("spawn", "fork", "in_process"):
            raise ValueError(f"mode={mode!r}")
        self.timeout, self.cwd, self.mode = float(timeout), cwd or os.getcwd(), mode
        self.objects = objects  # fork / in_process: {handle: object} the worker starts with
        self.pid = None
        self.pgid = None
        self.returncode = None
        self._to_worker = self._from_worker = None
        self._output = tempfile.TemporaryFile(prefix="gradcert-output-")
        self._server = None  # in_process: the Server itself
        self._popen = None
        self.loaded = None  # the load request, replayed after a restart
        self.starts = 0

    @property
    def isolated(self) -> bool:
        return self.mode != "in_process"

    # -- life cycle
    def start(self):
        self.starts += 1
        self.returncode = None
        if self.mode == "in_process":
            from gradcert.properties.candidates.worker import Server

            self._server = Server(-1, -1, self.objects)
            return
        to_worker_r, to_worker_w = os.pipe()
        from_worker_r, from_worker_w = os.pipe()
        if self.mode == "spawn":
            env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
            process = subprocess.Popen(
                [sys.executable, "-c", BOOTSTRAP, str(to_worker_r), str(from_worker_w), str(os.getpid())],
                stdin=subprocess.DEVNULL,
                stdout=self._output,
                stderr=self._output,
                pass_fds=(to_worker_r, from_worker_w),
                start_new_session=True,
                cwd=self.cwd,
                env=env,
            )
            self.pid = process.pid
            self._popen = process
        else:
            self.pid = self._fork(to_worker_r, from_worker_w, to_worker_w, from_worker_r)
            self._popen = None
        self.pgid = self.pid  # a new session: the worker leads its own process group
        os.close(to_worker_r)
        os.close(from_worker_w)
        self._to_worker, self._from_worker = to_worker_w, from_worker_r
        os.set_blocking(self._from_worker, False)
        ready = self._read(time.monotonic() + STARTUP_TIMEOUT, "starting the worker process")
        if ready.get("status") != "ready":
            raise CandidateFailure("crashed", f"the worker process did not start: {ready!r}")

    def _fork(self, read_end, write_end, parent_write, parent_read):
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()  # or the child would write the parent's buffered text again
        with warnings.catch_warnings():
            # Python 3.12 and JAX's at-fork hook warn about forking a threaded process: the child runs
            # only the candidate's own code (a candidate that uses those threads may hang: a verdict).
            warnings.simplefilter("ignore")
            pid = os.fork()
        if pid:
            return pid
        try:  # the child: a worker holding the caller's objects
            os.setsid()
            from gradcert.properties.candidates.worker import adopt_orphans

            adopt_orphans()
            os.close(parent_write)
            os.close(parent_read)
            output = self._output.fileno()
            os.dup2(output, 1)
            os.dup2(output, 2)
            from gradcert.properties.candidates.worker import Server

            sys.dont_write_bytecode = True
            Server(read_end, write_end, self.objects).serve()
        finally:
            os._exit(70)

    def restart(self):
        """A fresh worker in the state the run had set up: randomness held, the target imported."""
        self.kill()
        self.start()
        loaded = self.loaded
        if loaded is not None:
            reply = self.request(loaded, what="importing the target again")
            if reply.get("status") != "ok":
                raise CandidateFailure(
                    "crashed", f"importing the target again failed: {reply.get('message')}"
                )

    def ensure_running(self):
        if self.mode == "in_process":
            if self._server is None:
                self.start()
        elif self.pid is None or self._exited():
            self.restart() if self.starts else self.start()

    def close(self):
        """End the worker and everything it started (threads, children, forks)."""
        if self.mode == "in_process":
            self._server = None
            return
        if self.pid is None:
            return
        if self.returncode is None:
            self._kill_descendants()
            with contextlib.suppress(OSError):
                send(self._to_worker, {"op": "quit"})
            deadline = time.monotonic() + QUIT_GRACE
            while time.monotonic() < deadline and not self._exited():
                time.sleep(0.005)
        self.kill()

    def kill(self):
        if self.pid is None:
            return
        self._kill_descendants()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pgid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(self.pid, signal.SIGKILL)  # and the worker itself, should it have left its group
        self._reap(block=True)
        for fd in (self._to_worker, self._from_worker):
            with contextlib.suppress(OSError, TypeError):
                os.close(fd)
        self._to_worker = self._from_worker = None
        self.pid = None

    def _kill_descendants(self):
        """SIGKILL every process below a running worker, those that left its process group too."""
        if self.returncode is not None or self._exited():
            return  # its orphans went to init: out of reach
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(self.pid, signal.SIGSTOP)  # forks no more while its descendants are found
        for _ in range(5):  # a descendant's children are re-parented to the worker as it dies
            below = _descendants(self.pid)
            for pid in below:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            if not below:
                break
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(self.pid, signal.SIGCONT)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        self._output.close()

    def _exited(self):
        return self._reap(block=False)

    def _reap(self, block):
        """Whether the worker has ended; sets ``returncode`` (negative: the signal) when it has."""
        if self.returncode is not None:
            return True
        if self.pid is None:
            return True
        if self._popen is not None:
            code = self._popen.wait() if block else self._popen.poll()
        else:
            try:
                pid, status = os.waitpid(self.pid, 0 if block else os.WNOHANG)
            except ChildProcessError:
                pid, status = self.pid, 0
            if pid == 0:
                return False
            code = os.waitstatus_to_exitcode(status)
        if code is None:
            return False
        self.returncode = code
        return True

    # -- requests
    def request(self, message, *, what):
        """Send one request and wait for its reply, within ``timeout`` (reset by each heartbeat).
        Returns the reply (a dict); the worker's end is a CandidateFailure naming ``what``."""
        if self.mode == "in_process":
            return self._request_in_process(message)
        self.ensure_running()
        # A token the worker's loop puts on each of its replies to this request: what the candidate
        # writes into the channel itself (it knows the descriptor from argv) carries none
        token = os.urandom(8).hex()
        try:
            send(self._to_worker, {**message, "token": token})
        except (BrokenPipeError, OSError):
            raise self._ended(what) from None
        ticks = len(message.get("points", ())) if message["op"] == "outputs" else 0  # one per call
        while True:
            reply = self._read(time.monotonic() + self.timeout, what)
            if not isinstance(reply, dict) or not isinstance(reply.get("status"), str):
                raise self._corrupted(what, f"a reply that is not a message ({type(reply).__name__})")
            if reply.get("token") != token:
                kind = "heartbeat" if reply["status"] == "tick" else "reply"
                raise self._corrupted(what, f"a {kind} without this request's token, not the worker's")
            if reply["status"] != "tick":
                break
            ticks -= 1
            if ticks < 0:  # a heartbeat of the candidate's own would put the deadline off for ever
                raise self._corrupted(what, "a heartbeat for a call gradcert did not make")
        if message["op"] == "load" and reply.get("status") == "ok":
            self.loaded = message  # replayed after a restart
        return reply

    def _request_in_process(self, message):
        if self._server is None:
            self.start()
        try:
            return self._server.handle(message)
        except BaseException as error:  # noqa: BLE001 - as the worker does
            return self._server._raised(error)

    def _read(self, deadline, what):
        header = self._read_bytes(HEADER.size, deadline, what)
        (size,) = HEADER.unpack(header)
        if size > MAX_MESSAGE:
            raise self._corrupted(what, f"a message of {size} bytes")
        try:
            return loads_safely(self._read_bytes(size, deadline, what))
        except ChannelError as error:
            raise self._corrupted(what, str(error)) from None

    def _read_bytes(self, size, deadline, what):
        chunks, remaining = [], size
        while remaining:
            if INTERRUPTED.is_set():
                self.kill()
                raise KeyboardInterrupt
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                raise CandidateFailure(
                    "timed out",
                    f"{what} did not return within {self.timeout:g} s (raise the timeout if it is just slow)",
                    output=self.output_tail(),
                )
            readable, _, _ = select.select([self._from_worker], [], [], min(left, 1.0))
            if not readable:
                continue
            try:
                chunk = os.read(self._from_worker, min(remaining, 2**20))
            except BlockingIOError:
                continue
            if not chunk:
                raise self._ended(what)
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)

    def _ended(self, what):
        """The verdict for a worker whose channel closed while ``what`` ran."""
        deadline = time.monotonic() + 5.0
        while not self._exited() and time.monotonic() < deadline:
            time.sleep(0.01)
        code = self.returncode
        self.kill()
        tail = self.output_tail()
        if code is None:
            return CandidateFailure("exited", f"{what} closed gradcert's channel to its process", output=tail)
        if code < 0:
            name = _signal_name(-code)
            return CandidateFailure("killed", f"{what} was killed by {name}", output=tail)
        return CandidateFailure(
            "exited",
            f"{what} ended its process with exit code {code} (os._exit, or a thread calling exit)",
            output=tail,
        )

    def _corrupted(self, what, why):
        self.kill()
        return CandidateFailure(
            "crashed", f"{what} wrote into gradcert's channel: {why}", output=self.output_tail()
        )

    def output_tail(self, lines=TAIL_LINES, chars=TAIL_CHARS):
        """The last lines the candidate printed (stdout and stderr together)."""
        try:
            self._output.flush()
            size = self._output.seek(0, os.SEEK_END)
            self._output.seek(max(0, size - 4 * chars))
            text = self._output.read().decode("utf-8", "replace")
        except (OSError, ValueError):
            return ""
        tail = "\n".join(text.splitlines()[-lines:])
        return tail[-chars:]


def _descendants(root):
    """The processes below ``root`` that are still running, by the parent links of Linux's /proc
    (the worker adopts its orphans: ``worker.adopt_orphans``); none where there is no /proc.  A
    process of the candidate's may have left the worker's process group (setsid)."""
    children = {}
    try:
        entries = [e for e in os.listdir("/proc") if e.isdigit()]
    except OSError:
        return []
    for entry in entries:
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                state, parent = stat.read().rpartition(b")")[2].split()[:2]
        except (OSError, ValueError):
            continue
        if state != b"Z":
            children.setdefault(int(parent), []).append(int(entry))
    found, todo = [], [root]
    while todo:
        below = children.get(todo.pop(), [])
        found += below
        todo += below
    return found


def _signal_name(number):
    try:
        name = signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
    meaning = {
        "SIGSEGV": "a segmentation fault",
        "SIGKILL": "the out-of-memory killer or another process",
        "SIGABRT": "an abort",
        "SIGBUS": "a bus error",
        "SIGFPE": "an arithmetic fault",
    }.get(name)
    return f"{name} ({meaning})" if meaning else name
