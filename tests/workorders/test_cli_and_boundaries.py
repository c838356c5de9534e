"""``bankdrill workorders list`` and the no-Flask rule for the domain package."""

from __future__ import annotations

import json
import subprocess
import sys

from workorders import states


def test_cli_lists_orders_and_flags_overdue(runner, make_order, clock):
    late = make_order(states.NEW, type="故障", priority="紧急", title="ATM 吞卡")
    make_order(states.NEW, role="candidate2", type="建议", priority="低", title="增加大字版")
    clock.advance(3600)
    result = runner.invoke(args=["workorders", "list"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith(late) and lines[1].endswith("超时")
    result = runner.invoke(args=["workorders", "list", "--overdue", "true", "--json"])
    rows = json.loads(result.output)
    assert [r["number"] for r in rows] == [late] and rows[0]["overdue"] is True
    result = runner.invoke(args=["workorders", "list", "--queue", "行长办公室"])
    assert result.exit_code == 1 and "未知的队列" in result.output


def test_domain_package_imports_no_flask():
    code = ("import sys, workorders.access, workorders.changes, workorders.creation, workorders.handoff, "
            "workorders.history, workorders.input_checks, workorders.numbering, workorders.presentation, "
            "workorders.queries, workorders.sla, workorders.states; "
            "assert not [m for m in sys.modules if m == 'flask' or m.startswith('flask.')], 'flask imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
