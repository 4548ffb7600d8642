"""A py-spy profile of a running service: a flame graph (SVG) to look at and the same samples as
collapsed stacks, from which the frames that hold the most samples are named in the report."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Profiler:
    """Samples `pid` (and its children, e.g. uvicorn workers) while a measurement runs."""

    pid: int
    out: Path  # the SVG; the collapsed stacks go beside it as .txt
    seconds: float
    rate: int = 100
    _runs: tuple[subprocess.Popen[bytes], ...] = ()

    @property
    def collapsed(self) -> Path:
        return self.out.with_suffix(".txt")

    def start(self) -> str | None:
        """Start sampling; the reason when it cannot (no py-spy, no permission to attach)."""
        spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        if not Path(spy).exists():
            return "py-spy is not installed (dev-requirements.txt)"
        self.out.parent.mkdir(parents=True, exist_ok=True)
        common = [
            spy,
            "record",
            "--pid",
            str(self.pid),
            "--subprocesses",
            "--nonblocking",
            "--rate",
            str(self.rate),
            "--duration",
            str(max(1, round(self.seconds))),
        ]
        # Two samplers side by side: py-spy writes one format per run.
        self._runs = (
            subprocess.Popen(
                [*common, "--format", "flamegraph", "-o", str(self.out)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            ),
            subprocess.Popen(
                [*common, "--format", "raw", "-o", str(self.collapsed)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            ),
        )
        return None

    def finish(self) -> str | None:
        """Wait for both samplers; the reason when no profile was written."""
        failed = []
        for run in self._runs:
            _, err = run.communicate(timeout=self.seconds + 60)
            if run.returncode != 0:
                failed.append(err.decode(errors="replace").strip()[-300:])
        if failed or not self.out.exists():
            return "py-spy failed: " + " | ".join(failed)
        return None


def top_frames(collapsed: Path, n: int = 12) -> dict[str, list[tuple[str, float]]]:
    """The frames holding most samples, as shares of all samples: `self` where the sample was
    taken (the leaf), `total` anywhere on the stack (each frame once per sample), `project` the
    same for the project's own frames (the server's and the framework's frames hold every
    sample and say nothing)."""
    project: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        frames = [f for f in stack.split(";") if f and not f.startswith("process ")]
        if not frames:
            continue
        total += samples
        leaves[frames[-1]] += samples
        for frame in set(frames):
            inclusive[frame] += samples
            if "(yidi_" in frame:
                project[frame] += samples
    if not total:
        return {"self": [], "total": [], "project": []}
    return {
        "self": [(f, round(c / total, 3)) for f, c in leaves.most_common(n)],
        "total": [(f, round(c / total, 3)) for f, c in inclusive.most_common(n)],
        "project": [(f, round(c / total, 3)) for f, c in project.most_common(n)],
    }
