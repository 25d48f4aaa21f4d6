"""Presets: one YAML file per named experiment in agents/presets/ (docs/design.md: data flow).

Each file holds `description` (one line for `train.py --list`), `algo` (which trainer runs
it), `env` (name and options for `envs.make`) and the algorithm's own sections.
"""

from __future__ import annotations

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
    """The preset's mapping; an unknown name is a ConfigError listing the valid ones."""
    path = PRESET_DIR / f"{name}.yaml"
    if not path.is_file():
        names = ", ".join(available()) or "(none yet)"
        raise ConfigError(tr("unknown preset '{name}'; available: {names}").format(name=name, names=names))
    data = load_yaml(path)
    data.setdefault("preset", name)
    return data
