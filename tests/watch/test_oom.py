"""OOM detection without podman's flag: kernel log records and cgroup counters, read from
fixture files in the shapes this host's kernel (6.x, cgroups v1) and cgroups v2 write."""

from __future__ import annotations

from pathlib import Path

from phoenix_compose.watch.oom import OomDetector, OomKill

ID = "30136a100c726150b393b00988248f2779118251c5486974f85078900ad5b755"
# Two records as /dev/kmsg gave them on this host when a 64m container was OOM-killed.
MEMCG = (f"6,2001,22421961337,-;oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),"
         f"cpuset=libpod-{ID},mems_allowed=0,oom_memcg=/libpod_parent/libpod-{ID},"
         f"task_memcg=/libpod_parent/libpod-{ID},task=sh,pid=13163,uid=0")
KILLED = ("3,2002,22421961367,-;Memory cgroup out of memory: Killed process 13163 (sh) "
          "total-vm:89312kB, anon-rss:64512kB, file-rss:176kB, shmem-rss:0kB, UID:0 "
          "pgtables:172kB oom_score_adj:0")


def test_the_kernel_log_names_the_container_and_the_killed_process(tmp_path: Path) -> None:
    oom = OomDetector(tmp_path)
    oom.on_record("6,1,1,-;something else entirely")
    oom.on_record(MEMCG)
    oom.on_record(KILLED)
    kill = oom.killed(ID, 137, wait=0)
    assert kill == OomKill("sh", (64512 + 176) * 1024, "kernel log")
    assert oom.killed(ID, 143, wait=0) is None  # only a SIGKILL can be the OOM killer
    assert oom.killed("0" * 64, 137, wait=0) is None  # another container's kill


def test_a_kill_line_of_another_process_is_not_taken(tmp_path: Path) -> None:
    oom = OomDetector(tmp_path)
    oom.on_record(MEMCG)
    oom.on_record(KILLED.replace("13163", "999"))
    assert oom.killed(ID, 137, wait=0) is None


def test_podman_flag_counts_when_it_is_set(tmp_path: Path) -> None:
    assert OomDetector(tmp_path).killed(ID, 0, podman_says=True) == OomKill(source="podman")


def cgroup_v1(root: Path, count: int, peak: int) -> str:
    base = root / "memory/libpod_parent" / f"libpod-{ID}"
    base.mkdir(parents=True, exist_ok=True)
    (base / "memory.oom_control").write_text(f"oom_kill_disable 0\nunder_oom 0\noom_kill "
                                             f"{count}\n")
    (base / "memory.max_usage_in_bytes").write_text(f"{peak}\n")
    return f"/libpod_parent/libpod-{ID}"


def test_a_v1_counter_that_grows_is_a_kill_inside_a_running_container(tmp_path: Path) -> None:
    oom = OomDetector(tmp_path)
    path = cgroup_v1(tmp_path, 0, 1000)
    assert oom.sample(ID, path) is None  # the first read is the baseline
    cgroup_v1(tmp_path, 1, 67108864)
    assert oom.sample(ID, path) == OomKill(peak_bytes=67108864, source="cgroup")
    assert oom.sample(ID, path) is None  # reported once
    assert oom.sample(ID, "/gone") is None


def test_v2_reads_memory_events_and_memory_peak(tmp_path: Path) -> None:
    (tmp_path / "cgroup.controllers").write_text("memory pids\n")
    base = tmp_path / "machine.slice" / f"libpod-{ID}.scope"
    base.mkdir(parents=True)
    (base / "memory.peak").write_text("5000\n")
    (base / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 0\n")
    oom = OomDetector(tmp_path)
    path = f"/machine.slice/libpod-{ID}.scope"
    assert oom.sample(ID, path) is None
    (base / "memory.events").write_text("low 0\nhigh 0\nmax 9\noom 2\noom_kill 1\n")
    assert oom.sample(ID, path) == OomKill(peak_bytes=5000, source="cgroup")
    # the main process killed: the peak seen while it ran goes with the log's kill
    oom.on_record(MEMCG)
    oom.on_record(KILLED)
    assert oom.killed(ID, 137, wait=0).peak_bytes == (64512 + 176) * 1024


def test_an_unreadable_kernel_log_is_no_error(tmp_path: Path) -> None:
    oom = OomDetector(tmp_path, kmsg=tmp_path / "missing")
    assert oom.start() is False and oom.following is False


def test_what_is_known_of_gone_containers_is_dropped(tmp_path: Path) -> None:
    oom = OomDetector(tmp_path)
    path = cgroup_v1(tmp_path, 0, 1000)
    oom.sample(ID, path)
    oom.forget({"other"})
    cgroup_v1(tmp_path, 1, 2000)
    assert oom.sample(ID, path) is None  # a fresh baseline, not a kill
