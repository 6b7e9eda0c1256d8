"""tests/integration/sluice_harness.py -- start and stop sluiced for tests.

    from sluice_harness import Broker

    with Broker(overrides={"num.partitions": "3"}) as b:
        admin = AdminClient({"bootstrap.servers": b.bootstrap})
        ...
        assert b.stop() == 0          # SIGTERM, wait, exit code
        b.start()                     # same data dir, same port by default

Broker(data_dir=None, overrides={}):
  data_dir   None: a fresh temporary directory (removed at the end if the
             test passed); otherwise used as given and never removed.
  overrides  extra --override key=value pairs. listeners defaults to
             PLAINTEXT://127.0.0.1:0 (ephemeral) and log.dirs to data_dir.
  .start(timeout=30)   spawn build/sluiced, read the bound port from its
             "listening on host:port" log line, then poll until it accepts a
             TCP connection; raises BrokerError (with the stderr tail) if it
             exits or the deadline passes. A restart reuses the previous port
             (reuse_port=True) so clients can reconnect.
  .stop(sig=SIGTERM, timeout=30) -> exit code (SIGKILL after the timeout,
             then BrokerError). .kill9() -> exit code.
  .bootstrap "127.0.0.1:port", .port, .data_dir, .log_path (stderr, appended
             across restarts), .tail(n) the last n lines of it.
  Context manager: start on enter (if not running); on exit stop it, or,
  when the block raised, print the stderr tail and kill it.

Safety nets: every live broker is killed at interpreter exit (atexit), a
SIGTERM to the test (scripts/run-tests' timeout) becomes SystemExit so the
finally/with blocks run, and the broker gets PR_SET_PDEATHSIG=SIGKILL so it
dies with the test process even on SIGKILL (start brokers from the main
thread: the death signal follows the thread that forked).

Environment: SLUICE_BUILD = build directory (default "build", relative to
the repository root, the parent of tests/). SLUICE_KEEP=1 keeps temporary
data directories.
"""
import atexit
import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_LISTEN_RE = re.compile(rb"listening on (\S+):(\d+)")
_live = set()


class BrokerError(Exception):
    pass


def build_dir():
    b = os.environ.get("SLUICE_BUILD", "build")
    return b if os.path.isabs(b) else os.path.join(ROOT, b)


def sluiced_path():
    return os.path.join(build_dir(), "sluiced")


def wait_for(pred, timeout=10.0, interval=0.05, what="condition"):
    """Poll pred() until it returns a true value (returned) or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise TimeoutError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(interval)


try:
    _libc = ctypes.CDLL(None, use_errno=True)
    _prctl = _libc.prctl
except (OSError, AttributeError):
    _prctl = None


def _child_setup():
    # PR_SET_PDEATHSIG (1): die with the parent thread.
    if _prctl is not None:
        _prctl(1, signal.SIGKILL, 0, 0, 0)


def _on_sigterm(signum, frame):
    raise SystemExit(128 + signum)


def _install_sigterm():
    try:
        if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:
        pass        # not the main thread


@atexit.register
def _kill_all():
    for b in list(_live):
        try:
            b.kill9()
        except Exception:
            pass


class Broker:
    def __init__(self, data_dir=None, overrides=None, reuse_port=True, name="sluiced"):
        self._tmp = None
        if data_dir is None:
            self._tmp = tempfile.mkdtemp(prefix="sluice-test-")
            data_dir = os.path.join(self._tmp, "data")
            os.makedirs(data_dir)
        self.data_dir = os.path.abspath(data_dir)
        self.overrides = dict(overrides or {})
        self.reuse_port = reuse_port
        self.name = name
        logdir = self._tmp or tempfile.mkdtemp(prefix="sluice-log-")
        self._logdir_owned = self._tmp is None
        self._logdir = logdir
        self.log_path = os.path.join(logdir, name + ".stderr")
        self.proc = None
        self.port = None
        self.host = "127.0.0.1"
        self.failed = False

    # ---- lifecycle ----------------------------------------------------------

    @property
    def bootstrap(self):
        return "%s:%d" % (self.host, self.port)

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def args(self):
        ov = {"listeners": "PLAINTEXT://127.0.0.1:0", "log.dirs": self.data_dir}
        if self.reuse_port and self.port:
            ov["listeners"] = "PLAINTEXT://127.0.0.1:%d" % self.port
        ov.update(self.overrides)
        argv = [sluiced_path()]
        for k, v in ov.items():
            argv += ["--override", "%s=%s" % (k, v)]
        return argv

    def start(self, timeout=30.0):
        if self.running:
            raise BrokerError("%s already running" % self.name)
        exe = sluiced_path()
        if not os.access(exe, os.X_OK):
            raise BrokerError("%s not built (run make)" % exe)
        _install_sigterm()
        log = open(self.log_path, "ab")
        log.write(b"==== start %s\n" % " ".join(self.args()).encode())
        log.flush()
        offset = log.tell()
        self.proc = subprocess.Popen(self.args(), stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=log, preexec_fn=_child_setup,
                                     cwd=self._logdir)
        log.close()
        _live.add(self)
        deadline = time.monotonic() + timeout
        try:
            port = None
            while port is None:
                if self.proc.poll() is not None:
                    raise BrokerError("%s exited with %d during start" %
                                      (self.name, self.proc.returncode))
                with open(self.log_path, "rb") as f:
                    f.seek(offset)
                    m = _LISTEN_RE.search(f.read())
                if m:
                    port = int(m.group(2))
                    break
                if time.monotonic() >= deadline:
                    raise BrokerError("%s did not log its port within %.0fs" %
                                      (self.name, timeout))
                time.sleep(0.02)
            self.port = port
            while True:
                try:
                    socket.create_connection((self.host, port), timeout=1).close()
                    return self
                except OSError:
                    pass
                if self.proc.poll() is not None:
                    raise BrokerError("%s exited with %d during start" %
                                      (self.name, self.proc.returncode))
                if time.monotonic() >= deadline:
                    raise BrokerError("%s does not accept connections on %d" %
                                      (self.name, port))
                time.sleep(0.02)
        except BaseException:
            self.failed = True
            self.print_tail()
            self.kill9()
            raise

    def stop(self, sig=signal.SIGTERM, timeout=30.0):
        """Send sig, wait for the exit; returns the exit code (negative: signal)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.failed = True
                self.print_tail()
                self.kill9()
                raise BrokerError("%s did not exit within %.0fs of signal %d" %
                                  (self.name, timeout, sig))
        _live.discard(self)
        return self.proc.returncode

    def kill9(self):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        _live.discard(self)
        return self.proc.returncode

    def restart(self, timeout=30.0):
        rc = self.stop(timeout=timeout)
        self.start(timeout=timeout)
        return rc

    # ---- logs ---------------------------------------------------------------

    def tail(self, n=40):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n:])

    def print_tail(self, n=40, file=None):
        file = file or sys.stderr
        print("---- %s stderr (%s), last %d lines:" % (self.name, self.log_path, n), file=file)
        print(self.tail(n), file=file)
        print("----", file=file)

    def cleanup(self):
        """Remove the temporary directories (unless the test failed or SLUICE_KEEP)."""
        if self.failed or os.environ.get("SLUICE_KEEP"):
            print("%s: keeping %s" % (self.name, self._tmp or self._logdir), file=sys.stderr)
            return
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
        elif self._logdir_owned:
            shutil.rmtree(self._logdir, ignore_errors=True)

    # ---- context manager ----------------------------------------------------

    def __enter__(self):
        if not self.running:
            self.start()
        return self

    def __exit__(self, etype, exc, tb):
        if etype is not None:
            self.failed = True
            self.print_tail()
            self.kill9()
        elif self.running:
            rc = self.stop()
            if rc != 0:
                self.failed = True
                self.print_tail()
                raise BrokerError("%s exited with %d" % (self.name, rc))
        self.cleanup()
        return False
