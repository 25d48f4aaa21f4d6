"""Presets: one YAML file per named experiment (docs/design.md: data flow; chapters 66-75).

The files are agents/presets/*.yaml; what was measured to choose their settings is in
docs/experiments.md.

Each file holds `description` (one line for `train.py --list`), `algo` (which trainer runs
it), `env` (name and options for `envs.make`) and the algorithm's own sections.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from lab.config import ConfigError, load_yaml
from lab.i18n import number, tr

PRESET_DIR = Path(__file__).with_name("presets")
#: how a preset can be trained: this project's agents or Stable-Baselines3's (train.py --backend),
#: and the algorithms `--backend sb3 --algo NAME` runs (agents.sb3: Stable-Baselines3 and
#: sb3-contrib). Here, beside the presets, because train.py's --help names them without PyTorch.
BACKENDS = ("native", "sb3")
SB3_ALGOS = ("dqn", "ppo", "a2c", "recurrent-ppo")


def available() -> dict[str, str]:
    """Preset name -> one-line description, sorted by name."""
    found = {}
    for path in sorted(PRESET_DIR.glob("*.yaml")):
        found[path.stem] = str(load_yaml(path).get("description", "")).strip()
    return found


def budget_line(name: str) -> str:
    """The preset's budget in the key it counts, e.g. "100,000 episodes" (total_episodes)."""
    preset = load(name)
    if preset.get("total_episodes"):
        return tr("{count} episodes").format(count=number(preset["total_episodes"]))
    return tr("{count} steps").format(count=number(preset.get("total_steps", 0)))


def load(name: str) -> dict:
    """The preset's mapping; an unknown name is a ConfigError suggesting the closest names
    (spelling, case aside) and listing the valid ones."""
    path = PRESET_DIR / f"{name}.yaml"
    if not path.is_file():
        known = list(available())
        close = difflib.get_close_matches(name.lower(), known, n=3)
        guess = tr("did you mean {close}? ").format(close=tr(" or ").join(close)) if close else ""
        raise ConfigError(tr("unknown preset '{name}'; {guess}available: {names}").format(
            name=name, guess=guess, names=", ".join(known) or tr("(none yet)")))
    data = load_yaml(path)
    data.setdefault("preset", name)
    return data
