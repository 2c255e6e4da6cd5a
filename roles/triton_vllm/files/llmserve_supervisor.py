# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A small process supervisor for hosts where systemd is not PID 1 (containers, CI machines).

Shipped by the llmserve.triton.triton_vllm role; Python standard library only.

  ensure --config FILE [--check]  start the server, or restart it when the config changed;
                                  prints {"changed", "action": none|started|restarted, ...}
  stop   --run-dir DIR [--check] [--sweep-env KEY=VALUE]
                                  stop the supervisor, the server and every descendant, and
                                  (sweep) any process whose environment holds KEY=VALUE
  status --run-dir DIR            print the state as JSON
  run    --config FILE            (internal) the supervisor loop, started detached by ensure

The config is JSON: {"name", "argv": [...], "env": {...}, "cwd", "log_file", "run_dir",
"user", "group", "stop_timeout", "min_uptime"}. The run dir holds supervisor.pid,
server.pid (the pidfile that readiness checks read) and state.json, which records the hash of
the config the server was started with, so that `ensure` restarts only when it changed.
A server that exits within min_uptime seconds is not restarted (a start failure: the readiness
check reports it with its log); one that ran longer is restarted after a short pause.
"""

import argparse
import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import time

BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def load_config(path):
    with open(path, "rb") as f:
        raw = f.read()
    cfg = json.loads(raw)
    cfg["_hash"] = hashlib.sha256(raw).hexdigest()
    return cfg


def paths(run_dir):
    return {
        "supervisor": os.path.join(run_dir, "supervisor.pid"),
        "server": os.path.join(run_dir, "server.pid"),
        "state": os.path.join(run_dir, "state.json"),
    }


def read_pid(path):
    try:
        with open(path, encoding="ascii") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def alive(pid):
    """True when pid runs and is not a zombie."""
    if not pid:
        return False
    try:
        with open("/proc/%d/stat" % pid, encoding="ascii", errors="replace") as f:
            stat = f.read()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def read_state(run_dir):
    try:
        with open(paths(run_dir)["state"], encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def children_map():
    kids = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry, encoding="ascii", errors="replace") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def descendants(pid):
    kids, out, todo = children_map(), [], [pid]
    while todo:
        for child in kids.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def signal_all(pids, sig):
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def marked_processes(marker):
    """Pids whose environment holds the exact KEY=VALUE marker (servers set it; root reads)."""
    want = marker.encode()
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open("/proc/%s/environ" % entry, "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if want in env and alive(int(entry)):
            out.append(int(entry))
    return out


def sweep(marker, timeout):
    """TERM, then KILL after timeout, every live process carrying the marker."""
    found = marked_processes(marker)
    signal_all(found, signal.SIGTERM)
    deadline = time.time() + timeout
    while time.time() < deadline and any(alive(p) for p in found):
        time.sleep(0.2)
    signal_all([p for p in found if alive(p)], signal.SIGKILL)
    return found


def terminate_tree(pid, timeout):
    """SIGTERM pid's process group and every descendant; SIGKILL what is left after timeout."""
    tree = [pid] + descendants(pid)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    signal_all(tree, signal.SIGTERM)
    deadline = time.time() + timeout
    while time.time() < deadline:
        tree = [p for p in set(tree + descendants(pid)) if alive(p)]
        if not tree:
            return
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    signal_all([p for p in tree if alive(p)], signal.SIGKILL)


def become_subreaper():
    """Orphans of the server (engine workers whose parent died) re-parent to us, not to init,
    so that they can be found and stopped. Linux only; harmless where unavailable."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def reap(exclude):
    """Collect exited children other than `exclude` (re-parented orphans)."""
    for pid in children_map().get(os.getpid(), []):
        if pid != exclude:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)


def stop_descendants(timeout):
    """Stop every process below the supervisor (the server's orphans included)."""
    me = os.getpid()
    tree = descendants(me)
    signal_all(tree, signal.SIGTERM)
    deadline = time.time() + timeout
    while time.time() < deadline:
        reap(None)
        tree = [p for p in descendants(me) if alive(p)]
        if not tree:
            return
        time.sleep(0.2)
    signal_all(tree, signal.SIGKILL)
    time.sleep(0.2)
    reap(None)


def log_line(log, text):
    log.write("[llmserve-supervisor %s] %s\n" % (time.strftime("%Y-%m-%dT%H:%M:%S"), text))
    log.flush()


def server_env(cfg):
    env = {"PATH": BASE_PATH, "LANG": "C.UTF-8", "HOME": cfg.get("cwd") or "/"}
    env.update({str(k): str(v) for k, v in (cfg.get("env") or {}).items()})
    return env


def spawn(cfg, log):
    kwargs = {}
    if cfg.get("user") and os.geteuid() == 0:
        kwargs["user"] = cfg["user"]
        kwargs["group"] = cfg.get("group") or cfg["user"]
        kwargs["extra_groups"] = []
    return subprocess.Popen(
        cfg["argv"],
        cwd=cfg.get("cwd") or "/",
        env=server_env(cfg),
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        close_fds=True,
        **kwargs,
    )


def run(cfg):
    """The supervisor loop: runs detached, in its own session."""
    p = paths(cfg["run_dir"])
    os.umask(0o027)
    become_subreaper()
    stopping = {"flag": False}

    def on_term(signum, frame):
        stopping["flag"] = True

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    write_atomic(p["supervisor"], "%d\n" % os.getpid())
    min_uptime = float(cfg.get("min_uptime", 60))
    restarts = 0
    with open(cfg["log_file"], "a", encoding="utf-8") as log:
        while True:
            started = time.time()
            proc = spawn(cfg, log)
            log_line(log, "started %s (pid %d)" % (cfg.get("name", "server"), proc.pid))
            write_atomic(p["server"], "%d\n" % proc.pid)
            state = {
                "status": "running",
                "config_hash": cfg["_hash"],
                "supervisor_pid": os.getpid(),
                "server_pid": proc.pid,
                "started_at": started,
                "restarts": restarts,
            }
            write_atomic(p["state"], json.dumps(state))
            while proc.poll() is None and not stopping["flag"]:
                reap(proc.pid)
                time.sleep(0.5)
            if stopping["flag"]:
                terminate_tree(proc.pid, float(cfg.get("stop_timeout", 30)))
                proc.wait()
                stop_descendants(5)
                log_line(log, "stopped on request")
                state.update(status="stopped", exit_code=proc.returncode)
                break
            code = proc.returncode
            # Processes the server left behind (engine workers) go with it.
            stop_descendants(5)
            log_line(log, "server exited with code %s%s" % (code, describe_signal(code)))
            state.update(status="exited", exit_code=code, exited_at=time.time())
            if time.time() - started < min_uptime:
                log_line(log, "exited within %ds of its start: not restarting" % min_uptime)
                break
            restarts += 1
            write_atomic(p["state"], json.dumps(state))
            time.sleep(5)
    for key in ("server", "supervisor"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(p[key])
    write_atomic(p["state"], json.dumps(state))


def describe_signal(code):
    if code is not None and code < 0:
        try:
            return " (killed by %s)" % signal.Signals(-code).name
        except ValueError:
            return " (killed by signal %d)" % -code
    return ""


def status(run_dir):
    p = paths(run_dir)
    sup, srv = read_pid(p["supervisor"]), read_pid(p["server"])
    state = read_state(run_dir)
    state["supervisor_running"] = alive(sup)
    state["server_running"] = alive(srv)
    state["running"] = state["supervisor_running"] and state["server_running"]
    return state


def stop(run_dir, timeout=30.0, check=False, sweep_env=""):
    p = paths(run_dir)
    sup, srv = read_pid(p["supervisor"]), read_pid(p["server"])
    running = [pid for pid in (sup, srv) if alive(pid)]
    strays = [x for x in marked_processes(sweep_env) if x not in running] if sweep_env else []
    if check or not (running or strays):
        return {"changed": bool(running or strays), "stopped": running, "swept": strays}
    if alive(sup):
        os.kill(sup, signal.SIGTERM)
        deadline = time.time() + timeout + 10
        while alive(sup) and time.time() < deadline:
            time.sleep(0.2)
    # Whatever is still there (the supervisor was killed, or hangs) goes now.
    for pid in (srv, sup):
        if alive(pid):
            terminate_tree(pid, timeout)
    for key in ("server", "supervisor"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(p[key])
    swept = sweep(sweep_env, timeout) if sweep_env else []
    return {"changed": True, "stopped": running, "swept": swept}


def start(config_path, cfg):
    os.makedirs(cfg["run_dir"], exist_ok=True)
    p = paths(cfg["run_dir"])
    for key in ("server", "supervisor"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(p[key])
    os.makedirs(os.path.dirname(cfg["log_file"]) or ".", exist_ok=True)
    # The supervisor's own errors go to the server log too, where readiness checks read them.
    with open(cfg["log_file"], "a", encoding="utf-8") as log:
        subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "run", "--config", config_path],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            cwd="/",
        )
    deadline = time.time() + 15
    while time.time() < deadline:
        state = read_state(cfg["run_dir"])
        if state.get("config_hash") == cfg["_hash"] and (
            alive(read_pid(p["server"])) or state.get("status") in ("exited", "stopped")
        ):
            # A server that died at once is reported by the readiness check, with its log.
            return state
        time.sleep(0.1)
    raise SystemExit("supervisor did not start the server; see %s" % cfg["log_file"])


def ensure(config_path, check=False):
    cfg = load_config(config_path)
    st = status(cfg["run_dir"])
    if st["running"] and st.get("config_hash") == cfg["_hash"]:
        return {"changed": False, "action": "none", "server_pid": st.get("server_pid")}
    action = "restarted" if st["running"] else "started"
    if check:
        return {"changed": True, "action": action}
    if st["supervisor_running"] or st["server_running"]:
        stop(cfg["run_dir"], float(cfg.get("stop_timeout", 30)))
    state = start(config_path, cfg)
    return {"changed": True, "action": action, "server_pid": state["server_pid"]}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("command", choices=["ensure", "stop", "status", "run"])
    ap.add_argument("--config")
    ap.add_argument("--run-dir")
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--sweep-env", default="", help="KEY=VALUE marker of processes to stop")
    a = ap.parse_args(argv)
    if a.command in ("ensure", "run") and not a.config:
        ap.error("%s needs --config" % a.command)
    if a.command in ("stop", "status") and not a.run_dir:
        ap.error("%s needs --run-dir" % a.command)
    if a.command == "run":
        run(load_config(a.config))
        return 0
    if a.command == "ensure":
        out = ensure(a.config, a.check)
    elif a.command == "stop":
        out = stop(a.run_dir, a.timeout, a.check, a.sweep_env)
    else:
        out = status(a.run_dir)
    print(json.dumps(out, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
