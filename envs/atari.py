"""Atari Boxing, the game of the book's DQN chapters (69-70).

Chapter 69 trains a deep Q-network on Atari Boxing from pixels and chapter 70 explains the
pieces that make it work (frame preprocessing, experience replay, a target network).  This
module builds the environment side of that pipeline in two flavours that give the agent the
*same* input, a ``(4, 84, 84)`` ``uint8`` stack of grey frames:

* :func:`make_boxing_vector` -- the training pipeline.  ``ale_py.vector_env.AtariVectorEnv``
  runs ``num_envs`` emulators in native (C++) threads and does all the preprocessing there:
  frame skip 4 with a max over the last two emulator frames (removes Atari sprite flicker),
  RGB -> grey, resize to 84x84 (OpenCV INTER_AREA), a stack of the last 4 frames, up to 30
  random no-op actions after each reset, and an episode cap of 108,000 emulator frames
  (30 minutes of play; a Boxing bout ends after 2 minutes or at a 100-point knockout, so the
  cap never binds at the default).
* :func:`make_boxing_colour` -- one Gymnasium ``ALE/Boxing-v5`` emulator (``frameskip=1``)
  wrapped in Gymnasium's ``AtariPreprocessing`` + ``FrameStackObservation(4, zero padding)``.
  The agent sees the same stacked grey frames (the two paths give bit-identical observations
  for the same actions when no-ops and sticky actions are off -- tested), while
  ``env.render()`` returns the full-resolution colour screen ``(210, 160, 3) uint8`` for
  recordings.

Three documented evaluation protocols, chosen with ``protocol=``:

``"machado"`` (default) -- Machado et al. 2018, "Revisiting the Arcade Learning Environment":
    sticky actions (``repeat_action_probability=0.25``: on every emulator frame the previous
    action is repeated with probability 0.25, which makes the game stochastic), no life-loss
    signal, the full 18-action set, rewards *not* clipped by default.  Machado et al. use
    sticky actions instead of no-op starts; we still do up to 30 no-ops (``noop_max=30``) so
    both protocols start from the same state distribution -- pass ``noop_max=0`` for the
    paper's exact setting.
``"nature"`` -- Mnih et al. 2015, "Human-level control through deep reinforcement learning":
    deterministic emulator (no sticky actions), up to 30 no-op starts, the game's minimal
    action set, and rewards clipped to {-1, 0, +1} *during training*.  Clipping is a separate
    flag (``clip_rewards``, default ``True`` for this protocol) so that evaluation can build the
    same environment with ``clip_rewards=False`` and report raw game scores.

``"atari100k"`` -- the Atari 100k benchmark (Kaiser et al. 2020, "Model-Based Reinforcement
    Learning for Atari"; the protocol of DER, DrQ(eps), SPR and BBF): the Nature settings
    (deterministic emulator, up to 30 no-op starts, frame skip 4 with a max over the last two
    frames, 84x84 grey, a stack of 4, rewards clipped in training, the 108,000-frame = 27,000-step
    episode cap) with a budget of 100k agent steps (400k frames); the final agent is scored in
    raw points over 100 episodes at evaluation epsilon 0.001 (Dopamine's and BBF's setting).
    The budget and the evaluation are the preset's (``agents/presets/boxing-100k.yaml``).

Boxing specifics: the game has no lives, so "end the episode on life loss" (Nature) and
"no life-loss signal" (Machado) coincide; its minimal action set already holds all 18
actions in the full set's order, so both protocols act in the same ``Discrete(18)`` space.
Neither protocol presses FIRE on reset (``use_fire_reset=False``): that trick is for games
such as Breakout that wait for FIRE, and leaving it off keeps the two flavours identical.
Boxing's raw rewards are -2, -1, 0, +1, +2 per agent step (a long-range and a close punch);
clipping maps them to their sign.

Auto-reset (important for the training loop and the replay memory): the vector env uses
Gymnasium's **next-step** auto-reset (``env.autoreset_mode == AutoresetMode.NEXT_STEP``).
On the step where sub-env ``i`` ends, ``terminations[i] or truncations[i]`` is true and
``obs[i]`` is the episode's *final* observation.  The *next* call to ``step`` ignores
``actions[i]``, resets sub-env ``i`` and returns its first observation with reward 0 and both
flags false.  That extra step is not a real transition; :class:`agents.replay.FrameReplayMemory`
(built with ``autoreset_mode=env.autoreset_mode``) recognises it and stores the new episode's
first observation instead.  The episode cap shows up as ``truncations`` (bootstrap from the
final observation); a finished bout as ``terminations``.  ``autoreset_mode="same_step"`` is
also accepted; then the final observation is in ``infos["final_obs"]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium
import numpy as np
from ale_py.vector_env import AtariVectorEnv
from gymnasium.vector import AutoresetMode

from lab.checks import one_of, unknown, whole
from lab.i18n import tr

GAME = "boxing"
GYMNASIUM_ID = "ALE/Boxing-v5"
FRAME_SKIP = 4
SCREEN_SIZE = 84
STACK = 4
NOOP_MAX = 30
MAX_EPISODE_FRAMES = 108_000

_AUTORESET_CHOICES = {"next_step": AutoresetMode.NEXT_STEP, "same_step": AutoresetMode.SAME_STEP}


@dataclass(frozen=True)
class AtariProtocol:
    """The settings that make a published Atari evaluation protocol."""

    name: str
    repeat_action_probability: float
    clip_rewards: bool
    full_action_space: bool
    reference: str


PROTOCOLS: dict[str, AtariProtocol] = {
    "machado": AtariProtocol(
        name="machado",
        repeat_action_probability=0.25,
        clip_rewards=False,
        full_action_space=True,
        reference="Machado et al. 2018: sticky actions 0.25, no life-loss signal, full actions",
    ),
    "nature": AtariProtocol(
        name="nature",
        repeat_action_probability=0.0,
        clip_rewards=True,
        full_action_space=False,
        reference="Mnih et al. 2015: deterministic, 30 no-op starts, rewards clipped in training",
    ),
    "atari100k": AtariProtocol(
        name="atari100k",
        repeat_action_probability=0.0,
        clip_rewards=True,
        full_action_space=False,
        reference="Kaiser et al. 2020 (Atari 100k): deterministic, 30 no-op starts, 27k-step episode cap, "
                  "100k agent steps, final agent over 100 episodes at epsilon 0.001, raw points",
    ),
}


def resolve_protocol(name: str) -> AtariProtocol:
    """Return the :class:`AtariProtocol` called ``name``; raise ValueError naming the choices."""
    return PROTOCOLS[one_of(tr("Atari protocol"), name, sorted(PROTOCOLS))]


def protocol_summary(options: dict) -> dict:
    """The evaluation protocol of a Boxing env made with `options`, scored in raw points."""
    protocol = resolve_protocol(options.get("protocol", "machado"))
    return {
        "atari_protocol": protocol.name,
        "repeat_action_probability": protocol.repeat_action_probability,
        "noop_max": int(options.get("noop_max", NOOP_MAX)),
        "max_episode_frames": int(options.get("max_episode_frames", MAX_EPISODE_FRAMES)),
        "rewards": "raw (unclipped)",
        "reference": protocol.reference,
    }


def _resolve_autoreset(mode: str | AutoresetMode) -> AutoresetMode:
    if isinstance(mode, AutoresetMode) and mode in _AUTORESET_CHOICES.values():
        return mode
    if isinstance(mode, str) and mode in _AUTORESET_CHOICES:
        return _AUTORESET_CHOICES[mode]
    raise ValueError(unknown("autoreset_mode", mode, sorted(_AUTORESET_CHOICES)))


class BoxingVectorEnv(AtariVectorEnv):
    """``AtariVectorEnv`` for Boxing that remembers how it was built.

    It behaves exactly like its parent (Gymnasium ``VectorEnv`` API, next-step auto-reset by
    default) and adds: ``protocol`` (an :class:`AtariProtocol`), ``clip_rewards``,
    ``repeat_action_probability``, ``noop_max``, ``max_episode_frames``, ``seed``,
    ``action_meanings`` and ``obs_stack``.  A first ``reset()`` without a seed uses ``seed``,
    so two envs built with the same seed play the same games.
    """

    def __init__(
        self,
        num_envs: int,
        protocol: AtariProtocol,
        seed: int,
        clip_rewards: bool,
        num_threads: int,
        noop_max: int,
        max_episode_frames: int,
        autoreset_mode: AutoresetMode,
        frame_stack: int = STACK,
    ) -> None:
        super().__init__(
            GAME,
            num_envs,
            num_threads=num_threads,
            max_num_frames_per_episode=max_episode_frames,
            repeat_action_probability=protocol.repeat_action_probability,
            full_action_space=protocol.full_action_space,
            autoreset_mode=autoreset_mode,
            img_height=SCREEN_SIZE,
            img_width=SCREEN_SIZE,
            grayscale=True,
            stack_num=frame_stack,
            frameskip=FRAME_SKIP,
            maxpool=True,
            noop_max=noop_max,
            episodic_life=False,
            life_loss_info=False,
            reward_clipping=clip_rewards,
            use_fire_reset=False,
        )
        self.protocol = protocol
        self.clip_rewards = clip_rewards
        self.repeat_action_probability = protocol.repeat_action_probability
        self.noop_max = noop_max
        self.max_episode_frames = max_episode_frames
        self.seed = seed
        self.obs_stack = frame_stack
        self.action_meanings = [action.name for action in self.ale.get_action_set()]
        self._has_been_reset = False

    def reset(
        self,
        *,
        seed: int | np.ndarray | None = None,
        options: dict[str, Any] | None = None,
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Reset the sub-environments; sub-env ``i`` gets seed ``seed + i``.

        Without a seed, the first reset uses the seed the env was built with and later ones
        continue each emulator's random stream.
        """
        if seed is None and not self._has_been_reset:
            seed = self.seed
        self._has_been_reset = True
        return super().reset(seed=seed, options=options)


def make_boxing_vector(
    num_envs: int = 1,
    protocol: str = "machado",
    seed: int = 0,
    clip_rewards: bool | None = None,
    num_threads: int = 0,
    noop_max: int = NOOP_MAX,
    max_episode_frames: int = MAX_EPISODE_FRAMES,
    autoreset_mode: str = "next_step",
    frame_stack: int = STACK,
) -> BoxingVectorEnv:
    """Build ``num_envs`` preprocessed Boxing emulators stepping in native threads.

    Observations are ``(num_envs, 4, 84, 84) uint8`` (a fresh episode's stack is three zero
    frames then the first frame); actions ``(num_envs,)`` integers in ``[0, 18)``.

    Args:
        num_envs: emulators stepped together.
        protocol: ``"machado"`` (sticky actions 0.25), ``"nature"`` or ``"atari100k"``
            (deterministic; see the module docstring).
        seed: seed of the first reset (sub-env ``i`` gets ``seed + i``).
        clip_rewards: clip rewards to {-1, 0, 1}; ``None`` takes the protocol's training
            default (nature: True, machado: False).  Use False to evaluate raw scores.
        num_threads: native worker threads; 0 lets ALE choose (one per core).
        noop_max: reset with a random number of no-ops up to this (0 turns it off).
        max_episode_frames: truncate an episode after this many emulator frames (4 per agent
            step, counted after the no-op start).
        autoreset_mode: ``"next_step"`` (default, see the module docstring) or ``"same_step"``.
        frame_stack: frames per observation (4, Nature); 1 is DRQN's single-frame setting,
            where only an agent with memory can tell which way things move.
    """
    chosen = resolve_protocol(protocol)
    whole("num_envs", num_envs, 1)
    whole("num_threads", num_threads, 0)
    whole("noop_max", noop_max, 0)
    whole("max_episode_frames", max_episode_frames, FRAME_SKIP)
    whole("seed", seed, 0)
    whole("frame_stack", frame_stack, 1)
    return BoxingVectorEnv(
        num_envs=int(num_envs),
        protocol=chosen,
        seed=int(seed),
        clip_rewards=chosen.clip_rewards if clip_rewards is None else bool(clip_rewards),
        num_threads=int(num_threads),
        noop_max=int(noop_max),
        max_episode_frames=int(max_episode_frames),
        autoreset_mode=_resolve_autoreset(autoreset_mode),
        frame_stack=int(frame_stack),
    )


class _SeedFirstReset(gymnasium.Wrapper):
    """Use a fixed seed for the first ``reset()`` that is given none (reproducible recordings)."""

    def __init__(self, env: gymnasium.Env, seed: int) -> None:
        super().__init__(env)
        self.seed = seed
        self._has_been_reset = False

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        if seed is None and not self._has_been_reset:
            seed = self.seed
        self._has_been_reset = True
        return self.env.reset(seed=seed, options=options)


def make_boxing_colour(
    protocol: str = "machado",
    seed: int = 0,
    render_mode: str | None = "rgb_array",
    clip_rewards: bool = False,
    noop_max: int = NOOP_MAX,
    max_episode_frames: int = MAX_EPISODE_FRAMES,
    frame_stack: int = STACK,
) -> gymnasium.Env:
    """One Boxing emulator with the vector pipeline's observations and colour rendering.

    ``reset``/``step`` return ``(4, 84, 84) uint8`` stacks exactly like one lane of
    :func:`make_boxing_vector`; ``render()`` returns the colour screen ``(210, 160, 3) uint8``.
    Rewards are raw unless ``clip_rewards`` (this env is meant for evaluation and videos).
    Needs OpenCV (``opencv-python-headless``) for Gymnasium's resize.
    """
    from gymnasium.wrappers import AtariPreprocessing, ClipReward, FrameStackObservation

    import ale_py

    chosen = resolve_protocol(protocol)
    noop_max = whole("noop_max", noop_max, 0)
    max_episode_frames = whole("max_episode_frames", max_episode_frames, FRAME_SKIP)
    seed, frame_stack = whole("seed", seed, 0), whole("frame_stack", frame_stack, 1)
    one_of("render_mode", render_mode, ("rgb_array", None))
    gymnasium.register_envs(ale_py)
    env = gymnasium.make(
        GYMNASIUM_ID,
        frameskip=1,  # AtariPreprocessing skips frames itself, max-pooling the last two
        repeat_action_probability=chosen.repeat_action_probability,
        full_action_space=chosen.full_action_space,
        max_num_frames_per_episode=max_episode_frames,
        render_mode=render_mode,
    )
    env = AtariPreprocessing(
        env,
        noop_max=noop_max,
        frame_skip=FRAME_SKIP,
        screen_size=SCREEN_SIZE,
        terminal_on_life_loss=False,
        grayscale_obs=True,
        scale_obs=False,
    )
    if clip_rewards:
        env = ClipReward(env, -1.0, 1.0)
    # Zero padding, like AtariVectorEnv: a fresh stack is three black frames and the first one.
    env = FrameStackObservation(env, frame_stack, padding_type="zero")
    return _SeedFirstReset(env, int(seed))


def _register() -> None:
    """Add ``boxing`` and ``boxing-colour`` to the ``envs.make`` table."""
    from envs.registry import register, register_vector

    register_vector("boxing", make_boxing_vector)
    register(
        "boxing",
        make_boxing_vector,
        "Atari Boxing, N native-threaded emulators, 4x84x84 grey stacks, "
        "protocol machado|nature|atari100k (ch. 69-70).",
    )
    register(
        "boxing-colour",
        make_boxing_colour,
        "One Atari Boxing emulator with the same 4x84x84 input and colour render() "
        "for recordings (ch. 69-70).",
    )


_register()
