"""Chapters 51-53: LSTM and GRU cells, a memory of 10 vs 1,000 steps, gradient clipping.

* ch51 - the LSTM: four layers in a cell (ch051.md:51), three gates - forget, input, output -
  around a cell state (ch051.md:63-72), written out by hand and checked against torch's LSTM
  inside `nets.build("recurrent", cell="lstm")`. The chapter's claim (ch051.md:48): asked to
  recall a symbol after 1,000 steps instead of 10, a plain RNN has forgotten it, an LSTM has
  not. The memory task here: a sign (+1 or -1) at the first step, then `gap` empty steps, and
  the sign asked for at the last one (chance: 50%). Trained with Adam (lr 0.01, gradient norm
  clipped at 1): the plain RNN, the LSTM as PyTorch initialises it, and the LSTM started
  keeping its state (`gate_bias`: forget gate +8, input gate -8, so sigmoid(8)^1000 = 0.71 of
  the cell survives 1,000 steps before any training). Under --quick the long gap is 100 steps
  (training through 1,000 steps costs up to 0.17 s a step on one CPU core), reported but not
  judged against the book's 1,000.
* ch52 - the GRU: two gates, reset and update, and no cell state (ch052.md:42): gate blocks
  and parameters counted on the modules against the LSTM's; the same memory task.
* ch53 - the GRU's equations as the chapter writes them (ch053.md:47-100): reset gate, the
  candidate r = tanh(W x + reset * (U h)), update gate z, u = z * h_{t-1}, h_t = (1 - z) * r + u,
  checked against torch's GRU; an update gate near 1 keeps the state (ch053.md:119); clipping
  by value ("between two numbers", ch053.md:135) vs by norm ("the direction stays unchanged,
  only the magnitude changes", ch053.md:138) on the exploding run of chapter 50.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

import nets
from lab.i18n import N_, decimal, tr
from lab.plots import new_figure
from supervised.corpora import CharText, load_corpus
from supervised.demos import Setting, register
from supervised.demos._training import setting
from supervised.demos.ch48_char_rnn import CORPUS, CROSS_ENTROPY_LOSS, exploding_run, first_nan_step

BOOK_SHORT_GAP = 10  # ch051.md:48 "após 1.000 intervalos em vez de 10"
BOOK_LONG_GAP = 1000  # ch051.md:48
BOOK_LSTM_LAYERS = 4  # ch051.md:51 "quatro redes neurais"
BOOK_LSTM_GATES = 3  # ch051.md:63 "Existem três portões"
BOOK_GRU_GATES = 2  # ch052.md:42 "apenas dois portões, um portão de redefinição ... e um portão de atualização"
#: `gate_bias` for the memory task: sigmoid(8)^1000 = 0.71 of the state survives 1,000 steps.
MEMORY_GATE_BIAS = 8.0
#: Recall at least this accurate counts as remembering; at most this as forgotten (chance 0.5).
REMEMBERS, FORGETS = 0.9, 0.6
HIDDEN = 8
#: Added to a reason when a --quick run measured the figure.
QUICK = N_("; reduced size under --quick")


# --- the cells written out --------------------------------------------------------------------

def _blocks(weight: torch.Tensor, blocks: int) -> tuple[torch.Tensor, ...]:
    return weight.chunk(blocks, dim=0)


def lstm_by_hand(rnn: nn.LSTM, x: torch.Tensor) -> torch.Tensor:
    """The hidden states of a one-layer LSTM, gate by gate: forget f, input i and output o gates
    (sigmoid) and the candidate g (tanh); c_t = f * c_{t-1} + i * g, h_t = o * tanh(c_t)."""
    w_i, w_f, w_g, w_o = _blocks(rnn.weight_ih_l0, 4)
    u_i, u_f, u_g, u_o = _blocks(rnn.weight_hh_l0, 4)
    b_i, b_f, b_g, b_o = _blocks(rnn.bias_ih_l0 + rnn.bias_hh_l0, 4)
    h = c = x.new_zeros(x.shape[0], rnn.hidden_size)
    states = []
    for x_t in x.unbind(1):
        forget = torch.sigmoid(x_t @ w_f.T + h @ u_f.T + b_f)
        write = torch.sigmoid(x_t @ w_i.T + h @ u_i.T + b_i)
        candidate = torch.tanh(x_t @ w_g.T + h @ u_g.T + b_g)
        show = torch.sigmoid(x_t @ w_o.T + h @ u_o.T + b_o)
        c = forget * c + write * candidate
        h = show * torch.tanh(c)
        states.append(h)
    return torch.stack(states, dim=1)


def gru_by_hand(rnn: nn.GRU, x: torch.Tensor) -> torch.Tensor:
    """The hidden states of a one-layer GRU in the chapter's steps (ch053.md:47-100): reset gate,
    candidate r = tanh(W x + reset * (U h)), update gate z, u = z * h_{t-1}, h_t = (1 - z) * r + u."""
    w_reset, w_update, w_new = _blocks(rnn.weight_ih_l0, 3)
    u_reset, u_update, u_new = _blocks(rnn.weight_hh_l0, 3)
    b_reset, b_update, b_new = _blocks(rnn.bias_ih_l0, 3)
    c_reset, c_update, c_new = _blocks(rnn.bias_hh_l0, 3)
    h = x.new_zeros(x.shape[0], rnn.hidden_size)
    states = []
    for x_t in x.unbind(1):
        reset = torch.sigmoid(x_t @ w_reset.T + b_reset + h @ u_reset.T + c_reset)
        candidate = torch.tanh(x_t @ w_new.T + b_new + reset * (h @ u_new.T + c_new))
        update = torch.sigmoid(x_t @ w_update.T + b_update + h @ u_update.T + c_update)
        kept = update * h
        h = (1 - update) * candidate + kept
        states.append(h)
    return torch.stack(states, dim=1)


def gate_blocks(model: nn.Module) -> int:
    """Weight blocks per layer of a recurrent module: rows of W_ih / hidden size."""
    return model.rnn.weight_ih_l0.shape[0] // model.rnn.hidden_size


def by_hand_difference(cell: str, seed: int) -> float:
    """Largest |hand - torch| over the hidden states of a random 30-step sequence."""
    torch.manual_seed(seed)
    model = nets.build("recurrent", cell=cell, input_size=3, hidden_size=5, output="sequence")
    x = torch.randn(4, 30, 3)
    with torch.no_grad():
        by_hand = (lstm_by_hand if cell == "lstm" else gru_by_hand)(model.rnn, x)
        return float((by_hand - model(x)).abs().max())


# --- the memory task --------------------------------------------------------------------------

def memory_batch(count: int, gap: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """`count` sequences: a sign (+1 or -1) at step 0, then `gap` empty steps; the answer (the
    sign's class, 0 or 1) is asked for at the last of them."""
    symbols = torch.randint(2, (count,), generator=generator)
    x = torch.zeros(count, gap + 1, 1)
    x[:, 0, 0] = 2.0 * symbols - 1
    return x, symbols


def train_memory(cell: str, gap: int, steps: int, gate_bias: float = 0.0, seed: int = 0,
                 batch_size: int = 32, logger=None, tag: str = "", device: str | torch.device = "cpu") -> dict:
    """Adam (lr 0.01, gradient norm clipped at 1) on fresh batches; recall accuracy on 512 new
    sequences at the end and on each batch along the way."""
    torch.manual_seed(seed)
    model = nets.build("recurrent", cell=cell, input_size=1, hidden_size=HIDDEN, n_outputs=2,
                       gate_bias=gate_bias).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    generator = torch.Generator().manual_seed(seed)
    curve = []
    for step in range(steps):
        x, symbols = (part.to(device) for part in memory_batch(batch_size, gap, generator))
        logits = model(x)
        loss = F.cross_entropy(logits, symbols)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        curve.append((logits.argmax(-1) == symbols).float().mean().item())
        if logger is not None and (step % 25 == 0 or step == steps - 1):
            logger.scalars(step, {f"{tag}/loss": loss.item(), f"{tag}/batch_accuracy": curve[-1]})
    with torch.no_grad():
        x, symbols = (part.to(device) for part in memory_batch(512, gap, torch.Generator().manual_seed(seed + 10_000)))
        accuracy = (model(x).argmax(-1) == symbols).float().mean().item()
    return {"accuracy": accuracy, "curve": curve, "steps": steps}


#: label -> (cell, gate_bias)
MEMORY_NETS = {
    "RNN": ("rnn", 0.0),
    "LSTM": ("lstm", 0.0),
    f"LSTM, gate_bias {MEMORY_GATE_BIAS:g}": ("lstm", MEMORY_GATE_BIAS),
    f"GRU, gate_bias {MEMORY_GATE_BIAS:g}": ("gru", MEMORY_GATE_BIAS),
}
#: Runs made in this process, so that `demo.py --all` trains each once for chapters 51-52.
_RUNS: dict[tuple, dict] = {}


#: The memory task's settings (ch51, ch52). The long gap is the book's 1,000 steps, 100 under
#: --quick (a gap of 1,000 costs 0.02-0.17 s per training step on a CPU core, the GRU's and
#: plain RNN's backward being the slow ones); it must be longer than the short one.
MEMORY = (Setting("memory_steps", 600, 300, low=1), Setting("long_gap", BOOK_LONG_GAP, 100, above=BOOK_SHORT_GAP))


def memory_run(ctx, label: str, gap: int) -> dict:
    steps = setting(ctx, "memory_steps")
    cell, gate_bias = MEMORY_NETS[label]
    key = (label, gap, steps, ctx.seed)
    if key not in _RUNS:
        ctx.say(tr("memory task, gap {gap}: training {label} for {steps} steps").format(
            gap=gap, label=label, steps=steps))
        _RUNS[key] = train_memory(cell, gap, steps, gate_bias, ctx.seed, logger=ctx.logger,
                                  tag=f"memory/{label.replace(', ', '_').replace(' ', '_')}/gap{gap}",
                                  device=ctx.device)
    return _RUNS[key]


def _percent(run: dict) -> str:
    return f"{100 * run['accuracy']:.0f}%"


def memory_data(ctx) -> str:
    return tr("memory task: a sign at step 0, recall after the gap; 512 fresh test sequences, chance 50%; "
              "hidden {hidden}, {steps} Adam steps of 32 sequences").format(
        hidden=HIDDEN, steps=setting(ctx, "memory_steps"))


def long_gap(ctx) -> int:
    """The memory task's long gap (see MEMORY)."""
    return setting(ctx, "long_gap")


def judge_recall(ctx, label: str, book: str, runs: dict, wanted: bool, reason: str) -> None:
    """Report recall after the short and the long gap; judged only at the book's 1,000 steps."""
    gap = long_gap(ctx)
    measured = f"{_percent(runs[BOOK_SHORT_GAP])} / {_percent(runs[gap])}"
    quick = tr(QUICK) if ctx.quick else ""
    shown = tr("{label}: recall after {short} / {long:,} steps").format(label=label, short=BOOK_SHORT_GAP, long=gap)
    if gap != BOOK_LONG_GAP:
        ctx.report(shown, book, measured, data=memory_data(ctx), matches=None,
                   reason=tr("a gap of {gap}, the book's is {book:,}").format(gap=gap, book=BOOK_LONG_GAP) + quick)
        return
    ctx.report(shown, book, measured, data=memory_data(ctx), matches=wanted, reason=reason + quick)


def plot_memory(ctx, labels: list[str], name: str) -> None:
    fig, axes = new_figure(1, 2, figsize=(11, 4), sharey=True)
    for ax, gap in zip(axes, (BOOK_SHORT_GAP, long_gap(ctx))):
        for label in labels:
            curve = torch.tensor(memory_run(ctx, label, gap)["curve"])
            window = min(20, len(curve))
            ax.plot(range(window - 1, len(curve)), 100 * curve.unfold(0, window, 1).mean(1).numpy(), label=label)
        ax.axhline(50, color="grey", linestyle=":", linewidth=1)
        ax.set(xlabel=tr("training step"), title=tr("gap of {gap} steps").format(gap=gap), ylim=(0, 105))
    axes[0].set_ylabel(tr("recall accuracy on the batch (%, 20-step mean)"))
    axes[0].legend()
    ctx.plot(name, fig)


# --- ch51 -------------------------------------------------------------------------------------

LSTM_REMEMBERS = N_("an LSTM remembers after 1,000 steps (ch051.md:48)")


@register("ch51", "Arquitetura de Redes Neurais Long Short Term Memory (LSTM)",
          "LSTM: four layers and three gates written out; recall after 10 vs 1,000 steps against a plain RNN",
          settings=MEMORY)
def lstm(ctx) -> None:
    torch.manual_seed(ctx.seed)
    model = nets.build("recurrent", cell="lstm", input_size=1, hidden_size=HIDDEN)
    blocks = gate_blocks(model)
    ctx.report(tr("weight blocks in an LSTM cell (rows of W_ih / hidden size)"), BOOK_LSTM_LAYERS, blocks,
               by_construction=True, reason=tr("torch's nn.LSTM is written with these blocks; read off its weights, "
                                               "not measured (the line below checks the gates' equations)"))
    difference = by_hand_difference("lstm", ctx.seed)
    ctx.report(tr("LSTM written out with forget, input and output gates vs torch's LSTM (max difference)"),
               tr("{gates} gates around the cell state (ch051.md:63-72)").format(gates=BOOK_LSTM_GATES),
               decimal(f"{difference:.1e}"), matches=difference < 1e-5,
               reason=tr("the hand-written cell disagrees with torch's"))

    gaps = (BOOK_SHORT_GAP, long_gap(ctx))
    runs = {label: {gap: memory_run(ctx, label, gap) for gap in gaps}
            for label in ("RNN", "LSTM", f"LSTM, gate_bias {MEMORY_GATE_BIAS:g}")}
    accuracy = {label: [by_gap[gap]["accuracy"] for gap in gaps] for label, by_gap in runs.items()}
    judge_recall(ctx, tr("plain RNN"), tr("remembers after 10 steps, has forgotten after 1,000 (ch051.md:48)"),
                 runs["RNN"], accuracy["RNN"][0] >= REMEMBERS and accuracy["RNN"][1] <= FORGETS,
                 tr("the plain RNN does not show that pattern"))
    kept = f"LSTM, gate_bias {MEMORY_GATE_BIAS:g}"
    judge_recall(ctx, tr("LSTM started keeping its state (gate_bias {bias:g})").format(bias=MEMORY_GATE_BIAS),
                 tr(LSTM_REMEMBERS), runs[kept], min(accuracy[kept]) >= REMEMBERS,
                 tr("the LSTM did not learn to recall"))
    judge_recall(ctx, tr("LSTM as PyTorch initialises it"), tr(LSTM_REMEMBERS),
                 runs["LSTM"], min(accuracy["LSTM"]) >= REMEMBERS,
                 tr("its forget gate starts near sigmoid(0) = 0.5, so 0.5^1000 of the first step reaches the end and "
                    "training gets no signal: the cell can remember, but must start keeping its state"))
    plot_memory(ctx, list(runs), "memory_task_lstm")


# --- ch52 -------------------------------------------------------------------------------------

@register("ch52", "Arquitetura de Redes Neurais Gated Recurrent Unit (GRU)",
          "GRU: two gates and no cell state, counted on the modules; recall after 10 vs 1,000 steps",
          settings=MEMORY)
def gru(ctx) -> None:
    torch.manual_seed(ctx.seed)
    lstm_model = nets.build("recurrent", cell="lstm", input_size=1, hidden_size=HIDDEN)
    gru_model = nets.build("recurrent", cell="gru", input_size=1, hidden_size=HIDDEN)
    blocks = gate_blocks(gru_model)
    ctx.report(tr("weight blocks in a GRU cell: reset gate, update gate, candidate"),
               tr("{gates} gates + candidate (ch052.md:42)").format(gates=BOOK_GRU_GATES),
               tr("{blocks} blocks").format(blocks=blocks), by_construction=True,
               reason=tr("torch's nn.GRU is written with these blocks; read off its weights, not measured"))
    _, state = gru_model(torch.zeros(1, 3, 1), return_state=True)
    _, lstm_state = lstm_model(torch.zeros(1, 3, 1), return_state=True)
    ctx.report(tr("state passed between steps: GRU / LSTM"), tr("the GRU dropped the cell state, only h (ch052.md:42)"),
               f"{'h' if torch.is_tensor(state) else '(h, c)'} / {'(h, c)' if isinstance(lstm_state, tuple) else 'h'}",
               by_construction=True, reason=tr("what torch's modules return; read back, not measured"))
    gru_count, lstm_count = nets.count_parameters(gru_model.rnn), nets.count_parameters(lstm_model.rnn)
    ctx.say(tr("parameters of the recurrent layer, hidden {hidden}: GRU {gru:,} vs LSTM {lstm:,} ({ratio:.2f}: "
               "3 blocks of weights instead of 4)").format(hidden=HIDDEN, gru=gru_count, lstm=lstm_count,
                                                           ratio=gru_count / lstm_count))

    label = f"GRU, gate_bias {MEMORY_GATE_BIAS:g}"
    runs = {gap: memory_run(ctx, label, gap) for gap in (BOOK_SHORT_GAP, long_gap(ctx))}
    judge_recall(ctx, tr("GRU started keeping its state (gate_bias {bias:g})").format(bias=MEMORY_GATE_BIAS),
                 tr("gates trained to keep information from long ago (ch052.md:48)"), runs,
                 min(run["accuracy"] for run in runs.values()) >= REMEMBERS, tr("the GRU did not learn to recall"))
    plot_memory(ctx, [label], "memory_task_gru")


# --- ch53 -------------------------------------------------------------------------------------

def drift_over(cell: str, gate_bias: float, steps: int, seed: int) -> float:
    """||h_steps - h_start|| / ||h_start|| when a random state h_start is carried `steps` steps
    on empty input."""
    torch.manual_seed(seed)
    model = nets.build("recurrent", cell=cell, input_size=1, hidden_size=HIDDEN, output="sequence",
                       gate_bias=gate_bias)
    start = torch.rand(1, 16, HIDDEN) * 2 - 1
    with torch.no_grad():
        states = model(torch.zeros(16, steps, 1), state=start)
    return float((states[:, -1] - start[0]).norm() / start.norm())


@register("ch53", "Matemática na GRU, Dissipação e Clipping do Gradiente",
          "The GRU's equations against torch's GRU; clipping by value vs by norm on an exploding RNN",
          settings=(Setting("clip_steps", 1000, 200, low=1),))
def gru_math_and_clipping(ctx) -> None:
    difference = by_hand_difference("gru", ctx.seed)
    ctx.report(tr("GRU in the chapter's steps (reset, candidate, update, u = z h, h = (1 - z) r + u) vs torch's GRU"),
               tr("the chapter's equations (ch053.md:47-100)"), decimal(f"{difference:.1e}"), matches=difference < 1e-5,
               reason=tr("the chapter's equations disagree with torch's GRU"))
    open_drift, plain_drift = drift_over("gru", MEMORY_GATE_BIAS, 100, ctx.seed), drift_over("gru", 0.0, 100, ctx.seed)
    ctx.report(tr("GRU state carried 100 empty steps, change relative to its start: update gate near 1 (gate_bias "
                  "{bias:g}) / near 0.5").format(bias=MEMORY_GATE_BIAS),
               tr("an update gate near 1 keeps the previous memory (ch053.md:119)"),
               decimal(f"{open_drift:.3f} / {plain_drift:.2f}"), matches=open_drift < 0.1 <= plain_drift,
               reason=tr("the update gate near 1 did not keep the state"))

    text = CharText(load_corpus(CORPUS))
    steps = setting(ctx, "clip_steps")
    runs = {clip: exploding_run(text, clip, steps, ctx.seed, device=ctx.device) for clip in ("none", "value", "norm")}
    data = tr("chapter 50's exploding ReLU RNN on {corpus}, SGD lr 0.1, {steps} steps").format(
        corpus=CORPUS, steps=steps)
    by_value, by_norm = runs["value"], runs["norm"]
    direction_kept = tr("the direction stays unchanged, only the magnitude changes (ch053.md:138)")
    ctx.report(tr("clipping by value at {threshold:g}: cosine between clipped and raw gradient (lowest)").format(
                   threshold=by_value["threshold"]), direction_kept,
               decimal(f"{min(by_value['cosines']):.3f}"), data=data, matches=min(by_value["cosines"]) > 1 - 1e-6,
               reason=tr("clipping each entry to [-t, t] turns the gradient; the sentence holds for clipping by norm"))
    ctx.report(tr("clipping by norm at {threshold:g}: cosine between clipped and raw gradient (lowest)").format(
                   threshold=by_norm["threshold"]), direction_kept,
               decimal(f"{min(by_norm['cosines']):.6f}"), data=data, matches=min(by_norm["cosines"]) > 1 - 1e-6,
               reason=tr("rescaling changed the direction"))
    nan_at = first_nan_step(runs["none"]["losses"])
    finals = {clip: run["losses"][-1] for clip, run in runs.items()}
    ctx.report(tr("loss after {steps} steps: not clipped / by value / by norm").format(steps=steps),
               tr("clipping keeps exploding gradients from wrecking training (ch053.md:132-135)"),
               tr("NaN at step {step} / {value:.3g} / {norm:.3g}").format(
                   step=nan_at, value=finals["value"], norm=finals["norm"]), data=data,
               matches=nan_at is not None and all(math.isfinite(finals[c]) for c in ("value", "norm")),
               reason=tr("the unclipped run did not blow up, or a clipped one did"))

    fig, axes = new_figure(1, 2, figsize=(12, 4.2))
    colours = {"none": "tab:red", "value": "tab:blue", "norm": "tab:green"}
    loss_labels = {"none": tr("none (NaN at step {step})").format(step=nan_at),
                   "value": tr("value at {threshold:g}").format(threshold=by_value["threshold"]),
                   "norm": tr("norm at {threshold:g}").format(threshold=by_norm["threshold"])}
    cosine_labels = {"value": tr("by value"), "norm": tr("by norm")}
    for clip, run in runs.items():
        losses = [v if math.isfinite(v) else float("nan") for v in run["losses"]]
        axes[0].semilogy(range(1, len(losses) + 1), losses, marker="o" if clip == "none" else None, color=colours[clip],
                         label=loss_labels[clip])
        if clip != "none":
            axes[1].plot(range(1, len(run["cosines"]) + 1), run["cosines"], color=colours[clip],
                         label=cosine_labels[clip])
    axes[0].set(xlabel=tr("SGD step"), ylabel=tr(CROSS_ENTROPY_LOSS), title=tr("exploding ReLU RNN: clipping"))
    axes[0].legend()
    axes[1].set(xlabel=tr("SGD step"), ylabel=tr("cos(clipped, raw gradient)"),
                title=tr("direction of the clipped gradient"), ylim=(0, 1.05))
    axes[1].legend()
    ctx.plot("clipping", fig)
