"""Experience replay memories (docs/design.md: rooms; chapter 70), frame-efficient and optionally
prioritized; and the sequence replay of the agents with memory (:mod:`agents.replay.sequences`,
R2D2).

Chapter 70 explains why DQN learns from a *replay memory*: consecutive transitions are
strongly correlated, so the agent stores them and learns from random mini-batches drawn from
the last ``capacity`` of them.  This module gives two memories with one interface:

* :class:`ReplayMemory` stores whole observations (vectors such as Blackjack's state, or any
  array shape).
* :class:`FrameReplayMemory` is for stacked Atari frames ``(stack, 84, 84) uint8``.  Each
  84x84 frame is stored **once** (the newest frame of every observation) and stacks are
  rebuilt by index, in the spirit of DeepMind's Dopamine, so a transition costs about 7.1 KB
  (7,084 bytes at a 1M capacity) instead of the 56 KB of storing ``obs`` and ``next_obs``.

Both can return n-step returns and can sample by proportional priority (Schaul et al. 2016,
"Prioritized Experience Replay") from a sum tree.

How data is laid out
--------------------
The memory is split into ``n_envs`` *lanes* of ``capacity // n_envs`` slots, one per
sub-environment of a vector env.  A lane is a circular time series: slot ``t`` holds the
newest frame of the observation at time ``t`` (for :class:`ReplayMemory` the whole
observation), plus the action taken from it, the reward received and the
``terminated``/``truncated`` flags of that step.  The observation ``t`` is rebuilt from slots
``t-stack+1 .. t``; the next observation is slot ``t+1``; an n-step target reads slots
``t .. t+n``.  When an episode starts, all ``stack`` frames of its first observation are
written (for Atari: three zero frames and the first frame, exactly what the env gave), so a
rebuilt stack always equals the env's observation and never holds a frame of another episode.
An episode of ``T`` steps therefore uses ``T + stack`` slots (``T + 1`` for
:class:`ReplayMemory`): ``capacity`` counts slots, ``len(memory)`` counts the transitions that
can be sampled.  A slot is sampleable once its n-step future is complete (``n_step`` later
steps are stored, or the episode ended) and stops being sampleable as soon as the oldest frame
of its stack is overwritten.

The interface (what the DQN agent uses)
---------------------------------------
``add(obs, actions, rewards, next_obs, terminated, truncated)``
    Called once per vector-env step, *after* the step, with arrays whose leading axis is
    ``n_envs`` (with ``n_envs == 1`` the axis may be left out): ``obs`` is what the agent acted
    on, ``next_obs`` what the env returned.  How episode ends are signalled depends on the
    env's auto-reset mode, given to the constructor as ``autoreset_mode``:

    * ``"next_step"`` (Gymnasium's default and ``AtariVectorEnv``'s): pass exactly what
      ``env.step`` returned.  On the step that ends an episode ``next_obs`` is the final
      observation and ``terminated | truncated`` is true.  The following step is the env's
      reset step (its action is ignored, ``next_obs`` is the new episode's first
      observation); the memory recognises it from the previous flags and stores the new first
      observation instead of a transition.  Just call ``add`` every step.
    * ``"same_step"`` / ``"disabled"`` (the caller resets by hand): on the ending step pass the
      *final* observation as ``next_obs`` (for a same-step vector env, ``infos["final_obs"]``
      for the lanes that ended).  The next ``add`` for that lane must have the new episode's
      first observation as ``obs``.

    ``terminated`` means the episode really ended (no bootstrap); ``truncated`` means it was
    cut (time limit): the target still bootstraps from the final observation.

``sample(batch_size) -> Batch``
    numpy arrays: ``obs``, ``actions`` (int64), ``returns`` (float32, the discounted sum of up
    to ``n_step`` rewards, stopping at the episode's end), ``next_obs`` (the observation
    ``n_step`` later, or the final one if the episode ended sooner), ``discounts`` (float32,
    ``gamma ** k`` for the ``k`` steps taken, 0 if the episode terminated within them),
    ``weights`` (float32 importance-sampling weights; ones without prioritization) and
    ``indices`` (int64, for :meth:`update_priorities`).  The TD target is
    ``returns + discounts * max_a Q_target(next_obs, a)``.
``update_priorities(indices, priorities)``
    Set priorities (e.g. ``|TD error|``) of sampled transitions; a no-op without
    prioritization.
``len(memory)``, ``capacity``, ``nbytes``, ``bytes_per_transition``
    Sampleable transitions, slots, bytes held by the storage arrays, ``nbytes / capacity``.
``state_dict()`` / ``load_state_dict(state)``
    Plain numpy arrays and JSON-able scalars (safetensors + JSON; no pickle).

Prioritized replay: a new transition gets the largest priority seen so far; a transition's
sampling probability is ``p_i / sum_j p_j`` with ``p_i = (|priority_i| + eps) ** alpha``;
batches are stratified (one draw from each of ``batch_size`` equal slices of the total);
importance-sampling weights ``(N * P(i)) ** -beta`` are divided by the batch's largest weight.
``beta`` is a public attribute so the agent can anneal it to 1.
"""


from agents.replay.futures import future_steps
from agents.replay.interface import Batch
from agents.replay.lanes import LaneReplay
from agents.replay.memories import FrameReplayMemory, ReplayConfig, ReplayMemory
from agents.replay.sequences import SequenceBatch, SequenceReplay, sequence_priority
from agents.replay.sum_tree import SumTree

__all__ = ["Batch", "FrameReplayMemory", "LaneReplay", "ReplayConfig", "ReplayMemory", "SequenceBatch",
           "SequenceReplay", "SumTree", "future_steps", "sequence_priority"]
