"""One name -> environment table for every environment the book uses (chapters 66-75).

The book's tabular chapters (66-68: tic-tac-toe, the five-rooms graph), its Atari chapter
(69-70: Boxing) and its Blackjack chapters (71-75) all need an environment made from a short
name found in a preset.  This module keeps that table.  Modules add their environments with
:func:`register`; :func:`make` builds one by name, checking its options; names it does not
know but Gymnasium does (``"FrozenLake-v1"``, ``"Taxi-v3"``, ``"CartPole-v1"``) are passed
through to :func:`gymnasium.make`, so a preset can name those too.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from typing import Any, Callable

import gymnasium

from lab.i18n import tr

EnvFactory = Callable[..., gymnasium.Env]

# Modules that register environments but are too heavy (or may be absent) to import with
# ``envs`` itself; they are imported the first time a name is not found.
_LAZY_MODULES: tuple[str, ...] = ("envs.atari",)


@dataclass(frozen=True)
class _Entry:
    factory: EnvFactory
    description: str


_REGISTRY: dict[str, _Entry] = {}
_lazy_modules_loaded = False


def register(name: str, factory: EnvFactory, description: str) -> None:
    """Make ``factory(**options)`` available as ``envs.make(name, **options)``.

    ``description`` is the one line that :func:`available` shows.  Registering a name twice
    replaces the earlier entry (so re-importing a module is harmless).
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"environment name must be a non-empty string, got {name!r}")
    if not callable(factory):
        raise ValueError(f"factory for environment {name!r} must be callable, got {factory!r}")
    _REGISTRY[name] = _Entry(factory=factory, description=" ".join(str(description).split()))


def _load_lazy_modules() -> None:
    """Import the optional modules that register more environments, once."""
    global _lazy_modules_loaded
    if _lazy_modules_loaded:
        return
    _lazy_modules_loaded = True
    for module_name in _LAZY_MODULES:
        try:
            importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            # Only "the module is not there" is tolerated; a broken module must be loud.
            if error.name != module_name:
                raise


def available() -> dict[str, str]:
    """Return ``{name: one-line description}`` for every registered environment, sorted."""
    _load_lazy_modules()
    return {name: _REGISTRY[name].description for name in sorted(_REGISTRY)}


def _is_gymnasium_id(name: str) -> bool:
    return name in gymnasium.registry


def _check_options(name: str, factory: EnvFactory, options: dict[str, Any]) -> None:
    """Raise ValueError naming any option the factory does not accept."""
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):  # builtins and some C callables have no signature
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return
    accepted = [
        p.name
        for p in parameters
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    ]
    for option in options:
        if option not in accepted:
            valid = ", ".join(accepted) if accepted else tr("none")
            raise ValueError(tr("unknown option {option} for environment {name}; valid options: {valid}").format(
                option=repr(option), name=repr(name), valid=valid))


def accepted_options(name: str) -> set[str] | None:
    """The option names a registered environment's factory accepts (None: any, or not ours)."""
    if name not in _REGISTRY:
        _load_lazy_modules()
    entry = _REGISTRY.get(name)
    if entry is None:
        return None
    parameters = inspect.signature(entry.factory).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    return {p.name for p in parameters
            if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)}


def make(name: str, **options: Any) -> gymnasium.Env:
    """Build the environment called ``name`` with keyword ``options``.

    Registered names come first; any other Gymnasium id is handed to ``gymnasium.make``.
    Raises ValueError for an unknown name (listing the registered ones) or a bad option.
    """
    if not isinstance(name, str):
        raise ValueError(tr("environment name must be a string, got {name}").format(name=repr(name)))
    if name not in _REGISTRY:
        _load_lazy_modules()
    entry = _REGISTRY.get(name)
    if entry is not None:
        _check_options(name, entry.factory, options)
        return entry.factory(**options)
    if _is_gymnasium_id(name):
        try:
            return gymnasium.make(name, **options)
        except TypeError as error:  # gymnasium reports an unexpected keyword as TypeError
            raise ValueError(tr("bad option for Gymnasium environment {name}: {error}").format(
                name=repr(name), error=error)) from error
    known = ", ".join(sorted(_REGISTRY)) or tr("none")
    raise ValueError(tr("unknown environment {name}; available: {known} (or any Gymnasium id such as "
                        "'CartPole-v1')").format(name=repr(name), known=known))


# -- vector environments ---------------------------------------------------------------------
_VECTOR_FACTORIES: dict[str, Callable[..., Any]] = {}


def register_vector(name: str, factory: Callable[..., Any]) -> None:
    """Declare that ``name`` has a native vector implementation ``factory(num_envs=, seed=, **options)``
    (Atari's C++ ``AtariVectorEnv``); :func:`make_vector` prefers it to stepping copies in Python."""
    _VECTOR_FACTORIES[name] = factory


def make_vector(name: str, num_envs: int = 1, seed: int = 0, **options: Any) -> gymnasium.vector.VectorEnv:
    """``num_envs`` copies of environment ``name`` as one Gymnasium VectorEnv (next-step autoreset).

    Native vector environments are used where registered; anything else runs as a
    SyncVectorEnv of :func:`make` copies. The first reset uses ``seed`` (copy i gets seed + i).
    """
    if name not in _VECTOR_FACTORIES:
        _load_lazy_modules()
    if name in _VECTOR_FACTORIES:
        env = _VECTOR_FACTORIES[name](num_envs=num_envs, seed=seed, **options)
    else:
        make(name, **options).close()  # validates the name and options with a clear message
        env = gymnasium.vector.SyncVectorEnv([lambda: make(name, **options) for _ in range(num_envs)])
    env.reset(seed=seed)
    return env


def check(name: str, **options: Any) -> None:
    """Raise ValueError (one line) if ``name`` or one of its options is not valid; a native
    vector environment is checked against its factory's signature without being built."""
    if name not in _VECTOR_FACTORIES:
        _load_lazy_modules()
    if name in _VECTOR_FACTORIES:
        _check_options(name, _VECTOR_FACTORIES[name], options)
        return
    make(name, **options).close()
