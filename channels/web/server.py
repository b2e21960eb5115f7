"""`motcua serve --workers N`: three kinds of process, so no worker is killed while it loads.

- The **supervisor** (the process `motcua serve` started, exec'd into this module so it holds
  only the standard library: no model, no web framework) binds the listening socket, starts the
  template, passes on SIGTERM / SIGINT and restarts the template if it ever dies.
- The **template** loads the knowledge base and the NLU model and warms them up, once, then
  forks the workers. It never serves; it reaps a worker that exits and forks a new one, which
  serves within milliseconds (nothing to import or load: it has it all from the fork).
- Each **worker** runs uvicorn over the already-built app on the shared socket.

uvicorn's own multi-worker supervisor spawns fresh interpreters that import and load everything
again, and kills any that does not answer its health ping within 5 s: on a busy machine a
worker still loading the model was killed over and over. Here the slow part happens once, in a
process nobody pings, and a worker is forked only when it is ready to serve.

Every child asks the kernel to send it SIGTERM when its parent dies (PR_SET_PDEATHSIG), so no
worker outlives the supervisor, even one killed with SIGKILL.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from typing import Any

log = logging.getLogger("motcua.serve")

STARTUP_FAILURE = 3
"""Exit status of a template that could not build the app: restarting it would fail again."""
GRACE_SECONDS = 10
"""A stopping worker finishes the requests in flight for this long, then is killed."""
RESTART_BACKOFF = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
"""Pause before restarting a child that died soon after it started (a crash loop stays slow)."""
STABLE_SECONDS = 30.0
"""A child that ran this long before dying is restarted at once."""
_PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """Ask Linux for SIGTERM when the parent process dies; exit now if it already has."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the supervisor's stop still stops us
        pass
    if os.getppid() != parent:
        os._exit(0)


class _Stop:
    """Remembers the first stop signal (SIGTERM, SIGINT) a process got."""

    def __init__(self) -> None:
        self.signal: int | None = None
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._handle)

    def _handle(self, sig: int, _frame: Any) -> None:
        if self.signal is None:
            self.signal = sig

    def __bool__(self) -> bool:
        return self.signal is not None


def _pause(stop: _Stop, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not stop and time.monotonic() < deadline:
        time.sleep(0.1)


# --- the supervisor ----------------------------------------------------------------------------


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def supervise(host: str, port: int, workers: int, verbose: bool = False) -> int:
    """Run the template (which runs the workers) until SIGTERM or SIGINT; returns the exit status."""
    stop = _Stop()
    try:
        sock = bind(host, port)
    except OSError as exc:
        print(f"Lỗi: không mở được cổng {host}:{port} ({exc.strerror}).", file=sys.stderr)
        return 1
    command = [sys.executable, "-m", "channels.web.server", "template", "--fd", str(sock.fileno())]
    command += ["--workers", str(workers), "--parent", str(os.getpid())] + (["--verbose"] if verbose else [])
    failures = 0
    first = True
    while not stop:
        started = time.monotonic()
        # Only the first template may build a missing SQLite file: one restarted while the file
        # is deleted must not put a fresh one where the operator will restore the copy.
        template = subprocess.Popen([*command, *(["--may-build"] if first else [])], pass_fds=[sock.fileno()])
        first = False
        while template.poll() is None and not stop:
            time.sleep(0.2)
        if stop:
            template.send_signal(signal.SIGTERM)
            try:
                template.wait(timeout=GRACE_SECONDS + 5)
            except subprocess.TimeoutExpired:
                template.kill()  # its workers get SIGTERM from the kernel, then die
                template.wait()
            break
        if template.returncode == STARTUP_FAILURE:
            print("Lỗi: máy chủ không khởi động được (xem thông báo ở trên).", file=sys.stderr)
            return STARTUP_FAILURE
        failures = 0 if time.monotonic() - started > STABLE_SECONDS else failures + 1
        pause = RESTART_BACKOFF[min(failures, len(RESTART_BACKOFF) - 1)]
        print(f"Tiến trình mẫu thoát (mã {template.returncode}); khởi động lại sau {pause:.1f} giây.", file=sys.stderr)
        _pause(stop, pause)
    sock.close()
    return 0


# --- the template and its workers ---------------------------------------------------------------


def _build_app(may_build: bool) -> Any:
    """The database checked (built if missing and `may_build`, upgraded if need be), the model
    trained if stale (in a child process, so this one does not keep training's memory), then
    the warmed-up app."""
    from bot.runtime import model_is_current, open_repository
    from bot.settings import Settings
    from channels.web.app import factory

    settings = Settings.from_env()
    db, _repo = open_repository(settings, announce=lambda m: print(m, file=sys.stderr), build_missing=may_build)
    db.dispose()
    if not model_is_current(settings):
        print("Đang huấn luyện mô hình hiểu câu hỏi (chỉ lần đầu, mất vài giây)...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "bot", "nlu", "train"], check=True)
    return factory()


def _worker(app: Any, sock: socket.socket, template: int) -> None:
    """A forked worker: serve the app on the shared socket until told to stop."""
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD):
        signal.signal(sig, signal.SIG_DFL)
    die_with_parent(template)
    import uvicorn

    # Connections pooled by the template must not be shared: each worker opens its own.
    app.state.assistant.db.engine.dispose(close=False)
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, timeout_graceful_shutdown=GRACE_SECONDS, lifespan="on"
    )
    uvicorn.Server(config).run(sockets=[sock])


def _fork(app: Any, sock: socket.socket) -> int:
    template = os.getpid()
    pid = os.fork()
    if pid == 0:
        # Whatever happens, a worker exits here: it must never return into the template's loop.
        code = 0
        try:
            _worker(app, sock, template)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            log.exception("worker %d failed", os.getpid())
            code = 1
        finally:
            os._exit(code)
    return pid


def run_template(fd: int, workers: int, parent: int, may_build: bool = False) -> int:
    stop = _Stop()
    die_with_parent(parent)
    sock = socket.socket(fileno=fd)
    try:
        app = _build_app(may_build)
    except Exception as exc:  # reported once; the supervisor does not retry it
        from knowledge.errors import MotcuaError

        if isinstance(exc, MotcuaError):
            print(f"Lỗi: {exc}", file=sys.stderr)
        else:
            log.exception("the web app could not be built")
        return STARTUP_FAILURE
    if stop:
        return 0
    started: dict[int, float] = {}
    failures = 0
    for _ in range(workers):
        started[_fork(app, sock)] = time.monotonic()
    log.info("serving with workers %s", sorted(started))
    while not stop:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            pid, status = 0, 0
        if pid == 0:
            time.sleep(0.1)
            continue
        if pid not in started:
            continue
        ran = time.monotonic() - started.pop(pid)
        code = os.waitstatus_to_exitcode(status)
        failures = 0 if ran > STABLE_SECONDS else failures + 1
        pause = RESTART_BACKOFF[min(failures, len(RESTART_BACKOFF) - 1)] if failures > 1 else 0.0
        log.warning("worker %d exited (status %d) after %.1f s; starting another", pid, code, ran)
        _pause(stop, pause)
        if not stop:
            started[_fork(app, sock)] = time.monotonic()
    _stop_workers(started)
    return 0


def _stop_workers(workers: dict[int, float]) -> None:
    """SIGTERM to every worker; those still running after the grace period are killed."""
    alive = set(workers)
    for pid in alive:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + GRACE_SECONDS + 1
    while alive and time.monotonic() < deadline:
        for pid in list(alive):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = pid
            if done:
                alive.discard(pid)
        time.sleep(0.05)
    for pid in alive:
        _signal(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m channels.web.server")
    sub = ap.add_subparsers(dest="role", required=True)
    sup = sub.add_parser("supervise")
    sup.add_argument("--host", default="127.0.0.1")
    sup.add_argument("--port", type=int, default=8000)
    sup.add_argument("--workers", type=int, default=1)
    sup.add_argument("--verbose", action="store_true")
    tpl = sub.add_parser("template")
    tpl.add_argument("--fd", type=int, required=True)
    tpl.add_argument("--workers", type=int, default=1)
    tpl.add_argument("--parent", type=int, required=True)
    tpl.add_argument("--may-build", action="store_true", help="build a missing SQLite file")
    tpl.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if args.role == "supervise":
        return supervise(args.host, args.port, args.workers, args.verbose)
    return run_template(args.fd, args.workers, args.parent, args.may_build)


if __name__ == "__main__":
    sys.exit(main())
