"""Failures of a start, explained: which service, why, its last health-check output, the
tail of its logs, and which services it left running."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from phoenix_compose.errors import CommandError, StartupError, tail_lines
from phoenix_compose.runtime import argv, containers
from phoenix_compose.runtime.startup.state import Progress, StartState

Report = Callable[[str, str, str], None]  # service, state, detail


class Diagnosis:
    def __init__(self, run: containers.Runner, progress: Mapping[str, Progress],
                 report: Report) -> None:
        self.run = run
        self.progress = progress
        self.report = report

    def left_running(self) -> list[str]:
        started = {c: n for n, p in self.progress.items() if p.started_at is not None
                   for c in p.spec.containers}  # every replica: any one running counts
        try:
            states = containers.inspect(self.run, list(started))
        except CommandError:
            return sorted(set(started.values()))
        return list(dict.fromkeys(started[c] for c, state in states.items() if state.running))

    def explain(self, progress: Progress) -> str:
        lines = []
        if progress.last_output:
            lines.append("last health check output:\n" + tail_lines(progress.last_output))
        try:
            logs = self.run(argv.logs(progress.failing_container, 20),
                            tolerate=argv.NO_SUCH_CONTAINER, timeout=30)
            tail = tail_lines(logs.stdout + logs.stderr)
        except CommandError:
            tail = ""
        lines.append("last log lines:\n" + (tail or "  (none)"))
        return "\n".join(lines)

    def service_failed(self, progress: Progress, why: str) -> StartupError:
        progress.state = StartState.FAILED
        if len(progress.spec.containers) > 1:  # which replica: its logs are explained
            why = f"replica {progress.failing_container}: {why}"
        self.report(progress.spec.name, "failed", why)
        return StartupError(f"service '{progress.spec.name}' failed: {why}\n"
                            f"{self.explain(progress)}", self.left_running())

    def unhealthy(self, progress: Progress) -> StartupError:
        grace = progress.spec.health.grace if progress.spec.health else 0
        return self.service_failed(
            progress, f"unhealthy: its health check kept failing for {grace:g} s "
                      f"(start_period + interval x retries)")

    def timed_out(self, timeout: float) -> StartupError:
        waiting = [p for p in self.progress.values() if not p.ready]
        first = next((p for p in waiting if p.state is StartState.STARTED), waiting[0])
        names = ", ".join(f"{p.spec.name} ({p.state})" for p in waiting)
        return self.service_failed(
            first, f"not ready after {timeout:g} s; still waiting for: {names}")

    def start_failed(self, due: list[Progress], exc: CommandError) -> StartupError:
        text = exc.stderr + exc.stdout
        why = "port already in use" if "address already in use" in text else "podman start failed"
        for progress in due:
            progress.state = StartState.FAILED
        return StartupError(f"could not start {', '.join(p.spec.name for p in due)}: {why}\n"
                            f"{tail_lines(text)}", self.left_running())

    def state_changed(self, progress: Progress, state: containers.ContainerState | None,
                      now: float) -> None:
        """A container seen not running: exited 0 completes a service without a check;
        anything else (gone, or another exit) fails the start."""
        if state is None:
            raise self.service_failed(progress, "its container disappeared")
        if state.running or state.status in ("created", "configured"):
            return
        if state.exit_code == 0 and progress.spec.health is None:
            progress.state, progress.ready_at = StartState.COMPLETED, now
            self.report(progress.spec.name, "completed", "exit code 0")
            return
        raise self.service_failed(progress, f"its container exited with code {state.exit_code}")

    def creation_failed(self, exc: BaseException) -> BaseException:
        if isinstance(exc, CommandError):
            return StartupError(f"creating containers failed:\n{exc}", self.left_running())
        return exc
