"""PPO comes with the `ppo` extra (TRL 1.12, the last release with it). A test that needs it
carries `needs_ppo` (or `NEEDS_PPO` on one parameter): the base install skips it and says why,
and CI's PPO world runs exactly these tests (`pytest -m ppo`).

Import it as the tests import conftest: `from ppo_world import needs_ppo`.
"""

from __future__ import annotations

import pytest

from hftui.core.extras import ppo_installed

NEEDS_PPO = (
    pytest.mark.ppo,
    pytest.mark.skipif(not ppo_installed(), reason="needs PPO, removed from TRL 1.13: pip install -e '.[ppo]'"),
)


def needs_ppo(test):
    for mark in NEEDS_PPO:
        test = mark(test)
    return test
