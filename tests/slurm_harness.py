"""Run a command against a throw-away single-node SLURM cluster.

Usage (as root; every daemon binds 127.0.0.1 only)::

    python tests/slurm_harness.py STATE_DIR -- COMMAND...

It starts munged (private socket), slurmctld and slurmd in the foreground with a generated
slurm.conf (cons_tres, 2 fake GPUs in gres.conf), waits for the node to be idle, runs COMMAND
with SLURM_CONF set, then stops the three daemons by PID and exits with COMMAND's status.
Tests that drive the cluster themselves use :func:`cluster` (a context manager) instead.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path


def _write_conf(state: Path, host: str, cpus: int, mem_mb: int) -> Path:
    (state / "ctld").mkdir(parents=True, exist_ok=True)
    (state / "spool").mkdir(parents=True, exist_ok=True)
    conf = state / "slurm.conf"
    conf.write_text(
        f"""ClusterName=dnalmtest
SlurmctldHost={host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={state}/munge.sock
SlurmctldPort=6817
SlurmdPort=6818
SlurmctldPidFile={state}/slurmctld.pid
SlurmdPidFile={state}/slurmd.pid
SlurmctldLogFile={state}/slurmctld.log
SlurmdLogFile={state}/slurmd.log
StateSaveLocation={state}/ctld
SlurmdSpoolDir={state}/spool
ReturnToService=2
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
CommunicationParameters=NoInAddrAny,NoCtldInAddrAny
MinJobAge=600
GresTypes=gpu
SchedulerParameters=sched_interval=1
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={mem_mb} Gres=gpu:2 State=UNKNOWN
PartitionName=gpu Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""
    )
    (state / "gres.conf").write_text(
        f"AutoDetect=off\nNodeName={host} Name=gpu File=/dev/null\n"
        f"NodeName={host} Name=gpu File=/dev/zero\n"
    )
    # slurm looks for gres.conf next to slurm.conf
    return conf


def wait_for(pred, timeout: float, what: str, interval: float = 0.5, detail=lambda: "") -> None:
    """Poll ``pred`` every ``interval`` s; raise with ``detail()`` after ``timeout`` s."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if pred():
            return
        time.sleep(interval)
    raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}\n{detail()}")


@contextlib.contextmanager
def cluster(state: str | Path) -> Iterator[dict[str, str]]:
    """Start munged, slurmctld and slurmd; yield the environment (``SLURM_CONF`` set).

    The daemons are stopped by PID, and the ``/etc/slurm`` links removed, when the block exits.
    """
    state = Path(state).resolve()
    state.mkdir(parents=True, exist_ok=True)
    host = socket.gethostname()
    cpus = os.cpu_count() or 2
    conf = _write_conf(state, host, cpus, 8000)
    env = dict(os.environ, SLURM_CONF=str(conf))
    # Job steps (srun inside a batch job) read slurm's default config path, not SLURM_CONF from
    # the submitting shell. Link ours there only when the machine has no SLURM config of its
    # own, and remove the links afterwards; a real site's configuration is never touched.
    linked: list[Path] = []
    etc = Path("/etc/slurm")
    if not (etc / "slurm.conf").exists():
        etc.mkdir(parents=True, exist_ok=True)
        for name in ("slurm.conf", "gres.conf"):
            if not (etc / name).exists():
                (etc / name).symlink_to(state / name)
                linked.append(etc / name)
    elif (etc / "slurm.conf").resolve() != conf:
        print("slurm harness: /etc/slurm/slurm.conf exists; job steps may use it", flush=True)
    procs: list[subprocess.Popen] = []
    logf = open(state / "daemons.log", "ab")  # noqa: SIM115
    try:
        munged = shutil.which("munged") or "/usr/sbin/munged"
        procs.append(
            subprocess.Popen(
                [munged, "--foreground", "--force", f"--socket={state}/munge.sock",
                 f"--pid-file={state}/munged.pid", f"--seed-file={state}/munge.seed",
                 f"--log-file={state}/munged.log"],
                stdout=logf, stderr=logf,
            )
        )
        wait_for(lambda: (state / "munge.sock").exists(), 20, "munged socket")
        procs.append(subprocess.Popen(["slurmctld", "-D", "-f", str(conf)], env=env,
                                      stdout=logf, stderr=logf))
        time.sleep(1)
        procs.append(subprocess.Popen(["slurmd", "-D", "-f", str(conf)], env=env,
                                      stdout=logf, stderr=logf))

        def _idle() -> bool:
            r = subprocess.run(["sinfo", "-h", "-o", "%t"], env=env, capture_output=True,
                               text=True)
            return r.returncode == 0 and r.stdout.strip() in ("idle", "mix")

        wait_for(_idle, 60, "the SLURM node to be idle")
        print(f"slurm harness: cluster up (state {state})", flush=True)
        yield env
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in reversed(procs):
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        logf.close()
        for link in linked:
            link.unlink(missing_ok=True)


def main(argv: list[str]) -> int:
    cmd = argv[argv.index("--") + 1 :]
    with cluster(argv[1]) as env:
        return subprocess.run(cmd, env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv))
