"""The runtime API's answers parsed into typed rows (the text is HAProxy 2.6.12's), and
commands that could carry a second one refused before they are sent."""

from __future__ import annotations

import pytest

from phoenix_compose.edge.api import RuntimeAPI, parse_servers_state, parse_stat
from phoenix_compose.edge.model import State
from phoenix_compose.errors import ConfigurationError, EdgeError

HEADER = ("# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight "
          "srv_iweight srv_time_since_last_change srv_check_status srv_check_result "
          "srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id "
          "srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr "
          "srv_agent_addr srv_agent_port")
SERVERS_STATE = "1\n" + HEADER + """
3 web 1 s1 127.0.0.1 2 0 100 100 1 1 0 2 0 0 0 0 - 18081 - 0 0 - - 0
3 web 2 s2 127.0.0.1 0 5 100 100 1 1 0 0 8 0 0 0 - 18082 - 0 0 - - 0
3 web 3 s3 ::1 2 8 50 50 0 1 0 0 0 0 0 0 - 18083 - 0 0 - - 0

"""

STAT = ("# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,"
        "wretr,wredis,status,weight,act,idle_conn_cur\n") + """\
web_80,FRONTEND,,,0,4,9985,4,1,1,0,0,0,,,,,OPEN,,,
web,web_1,0,0,2,3,,82,1,1,,0,,4,1,5,9,no check,100,1,3
web,web_2,0,0,0,2,,80,1,1,,0,,0,0,0,0,DRAIN,0,1,
web,BACKEND,0,0,2,4,999,163,1,1,0,0,,4,1,5,9,UP,200,2,
"""


def test_show_servers_state_becomes_typed_rows_with_the_admin_state_named() -> None:
    rows = parse_servers_state(SERVERS_STATE)
    assert [(r.server, r.address, r.port, r.weight, r.state) for r in rows] == [
        ("s1", "127.0.0.1", 18081, 100, State.READY),
        ("s2", "127.0.0.1", 18082, 100, State.MAINT),  # forced + config maintenance
        ("s3", "::1", 18083, 50, State.DRAIN)]
    assert rows[0].operational == 2 and rows[0].backend == "web"


def test_an_unknown_servers_state_format_is_refused() -> None:
    with pytest.raises(EdgeError, match="format"):
        parse_servers_state("2\n# be_id ...\n")


def test_show_stat_keeps_the_server_rows_and_their_counters() -> None:
    rows = parse_stat(STAT)
    assert [(r.server, r.sessions, r.total, r.status, r.weight) for r in rows] == [
        ("web_1", 2, 82, "no check", 100), ("web_2", 0, 80, "DRAIN", 0)]
    first = rows[0]
    assert (first.connect_errors, first.response_errors, first.retries, first.redispatches,
            first.idle_connections) == (4, 1, 5, 9, 3)


def test_show_stat_without_its_header_is_refused() -> None:
    with pytest.raises(EdgeError, match="no CSV header"):
        parse_stat("Unknown command.\n")


@pytest.mark.parametrize("server", ["s1;del server web/s2", "s1\nshutdown sessions", "s 1"])
def test_a_command_is_never_built_from_an_unchecked_name(server: str) -> None:
    api = RuntimeAPI("/nonexistent/admin.sock")
    with pytest.raises(ConfigurationError, match="is refused"):
        api.set_state("web", server, State.MAINT)


def test_a_second_command_is_refused_before_anything_is_sent() -> None:
    with pytest.raises(EdgeError, match="not one command"):
        RuntimeAPI("/nonexistent/admin.sock").command("show info; shutdown sessions")


def test_an_edge_that_does_not_run_is_a_clear_error(tmp_path) -> None:
    api = RuntimeAPI(str(tmp_path / "admin.sock"))
    assert not api.answers()
    with pytest.raises(EdgeError, match="did not answer 'show'"):
        api.stats()
