"""Every figure line of the fast chapter demos is judged (match / differs / not comparable), and a
non-match always says why; DemoContext refuses a non-match without a reason."""

from __future__ import annotations

import pytest

from supervised import demos
from supervised.demo_context import VERDICTS, DemoContext

FAST_DEMOS = ("ch06", "ch08", "ch12", "ch14", "ch15", "ch16", "ch17", "ch21", "ch32", "ch33")


@pytest.mark.parametrize("key", FAST_DEMOS)
def test_every_figure_line_has_a_verdict_and_a_reason_when_not_a_match(key, tmp_path):
    result = demos.run(key, quick=True, run_dir=str(tmp_path / key), quiet=True, device="cpu")
    assert result["figures"], key
    for figure in result["figures"]:
        assert figure["verdict"] in VERDICTS
        assert figure["source"]
        if figure["verdict"] != "match":
            assert figure["reason"].strip(), (key, figure["label"])


def test_report_refuses_a_non_match_without_a_reason(tmp_path):
    with DemoContext.create("chXX", quick=True, run_dir=str(tmp_path / "ctx"), quiet=True) as ctx:
        with pytest.raises(ValueError, match="without a reason"):
            ctx.report("a figure", 1, 2, matches=False)
        with pytest.raises(ValueError, match="without a reason"):
            ctx.report("a figure", 1, 2, matches=None)
        assert ctx.report("a figure", 1, 2, matches=None, reason="other data").verdict == "not comparable"
