"""Chapters 48-50: recurrent nets, backpropagation through time, vanishing and exploding gradients.

* ch48 - a character-level recurrent net (`nets.build("recurrent", cell="rnn" | "lstm",
  vocab_size=...)`) learns that the letter after "q" is "u" (ch048.md:90). The text ships with Python:
  the Python Language Reference topics of CPython's ``pydoc_data`` (supervised/corpora.py; no
  public-domain book ships in an installed package, and demos never download). Measured: the
  trained nets' probability of "u" right after each "q" of the held-out text.
* ch49 - BPTT written out (the chapter's s_t = tanh(U x_t + W s_{t-1}), o_t = softmax(V s_t),
  one-hot x_t, cross-entropy summed over the steps, ch049.md:19-25, :76): the gradient of each
  E_t is carried back step by step and W's contributions are summed (ch049.md:154-160), whole
  or truncated to a few steps (ch049.md:181). Both are checked against autograd on the shared
  `recurrent` module: the whole graph, and the graph cut `truncate` steps before each output.
* ch50 - why gradients vanish: tanh' <= 1 and sigmoid' <= 1/4 (ch050.md:52); the gradient of the
  last step's output with respect to the input k steps earlier, for a plain tanh RNN, a ReLU
  RNN (PyTorch's initialisation, and W = identity, the chapter's "proper initialisation",
  ch050.md:76), LSTM and GRU (PyTorch's initialisation, and with the gate that keeps the
  state biased open); an exploding plain RNN whose loss turns NaN (ch050.md:70), and the same
  run with its gradient clipped (ch050.md:73).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

import nets
from lab.i18n import N_, decimal, listed, tr
from lab.plots import new_figure
from supervised.corpora import CORPORA, CharText, load_corpus, next_char_counts
from supervised.demos import Setting, register
from supervised.demos._training import setting

CORPUS = "python-docs"
BOOK_AFTER_Q = "u"  # ch048.md:90 "um q inicial possa levá-lo a inferir que a próxima letra será u"
BOOK_TANH_SLOPE_BOUND = 1.0  # ch050.md:52 "a derivada é limitada por 1 (1/4 no caso de sigmoide)"
BOOK_SIGMOID_SLOPE_BOUND = 0.25  # ch050.md:52
BOOK_SEQUENCE_WORDS = 20  # ch049.md:181 "talvez 20 palavras ou mais"
#: Characters of context the trained nets read before each "q".
CONTEXT = 50
#: A gradient below this share of the last step's has vanished ("desaparecendo completamente").
VANISHED = 1e-6
#: Lag at which gradients are compared (steps back from the output).
LAG = 50
#: `gate_bias` of the recurrent module: the LSTM's forget gate / the GRU's update gate start at
#: sigmoid(3) = 0.95 (and the LSTM's input gate at 0.05).
OPEN_GATE_BIAS = 3.0
#: The y axis of the exploding runs' losses (chapters 50 and 53).
CROSS_ENTROPY_LOSS = N_("cross-entropy loss")


# --- ch48: the character model ---------------------------------------------------------------

def char_model(cell: str, vocab: int, hidden: int = 128, embedding: int = 32) -> nn.Module:
    return nets.build("recurrent", cell=cell, input_size=embedding, hidden_size=hidden, vocab_size=vocab,
                      n_outputs=vocab, output="sequence")


def train_char_model(ctx, text: CharText, cell: str, iterations: int, length: int = CONTEXT,
                     batch_size: int = 32) -> tuple[nn.Module, list[float]]:
    """Adam (lr 3e-3, gradient norm clipped at 1) on random windows, on the demo's device; the
    loss every step, and the model back on the CPU."""
    torch.manual_seed(ctx.seed)
    model = char_model(cell, len(text.chars)).to(ctx.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(ctx.seed)
    losses = []
    for step in range(iterations):
        x, y = (part.to(ctx.device) for part in text.windows(text.train, batch_size, length, generator))
        loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        losses.append(loss.item())
        if step % 50 == 0 or step == iterations - 1:
            ctx.logger.scalars(step, {f"ch48/{cell}/train_loss": loss.item()})
    return model.cpu(), losses


@torch.no_grad()
def next_char_after(model: nn.Module, text: CharText, first: str = "q", then: str = "u",
                    context: int = CONTEXT) -> tuple[float, float, int]:
    """Over every `first` of the held-out text (with `context` characters before it): the mean
    probability the model gives `then` next, the share where `then` is its top choice, and how
    many such places there are."""
    part = text.held_out
    places = (part[:-1] == text.index[first]).nonzero().flatten()
    places = places[places >= context - 1]
    windows = part[places[:, None] + torch.arange(-context + 1, 1)]
    model.eval()
    probabilities = torch.softmax(model(windows)[:, -1], dim=-1)
    wanted = text.index[then]
    return (probabilities[:, wanted].mean().item(), (probabilities.argmax(-1) == wanted).float().mean().item(),
            len(places))


@register("ch48", "Redes Neurais Recorrentes",
          "Recurrent nets: a character-level RNN and LSTM learn that 'q' is followed by 'u'",
          settings=(Setting("iterations", 2000, 200, low=1),))
def char_rnn(ctx) -> None:
    text = CharText(load_corpus(CORPUS))
    iterations = setting(ctx, "iterations")
    data = tr("{corpus}: {description}; {train:,} train / {held_out:,} held-out characters, {symbols} symbols").format(
        corpus=CORPUS, description=tr(CORPORA[CORPUS]), train=len(text.train), held_out=len(text.held_out),
        symbols=len(text.chars))
    ctx.say(tr("data: {source}").format(source=data))
    follows = next_char_counts(text.text, "q")
    ctx.say(tr("in the whole text 'q' is followed by 'u' {u} times out of {total} (the rest: {rest}, ...); "
               "'u' is {share:.1%} of all characters").format(
        u=follows["u"], total=sum(follows.values()),
        rest=", ".join(f"{c!r} {n}" for c, n in follows.most_common()[1:4]),
        share=text.text.count("u") / len(text.text)))
    curves = {}
    for cell in ("rnn", "lstm"):
        model, curves[cell] = train_char_model(ctx, text, cell, iterations)
        probability, top_share, places = next_char_after(model, text)
        ctx.report(tr("{cell}: P('u' | 'q' and {before} characters before) over the held-out 'q's ({steps} steps)")
                   .format(cell=cell.upper(), before=CONTEXT - 1, steps=iterations),
                   tr("after a 'q' the next letter is 'u' (ch048.md:90)"),
                   tr("{probability:.2f} ('u' top choice at {share:.0%} of {places} places)").format(
                       probability=probability, share=top_share, places=places),
                   data=data, matches=top_share > 0.5,
                   reason=tr("'u' is not the model's first choice after most 'q's"))

    fig, ax = new_figure(figsize=(6.5, 4))
    for cell, losses in curves.items():
        smooth = torch.tensor(losses).unfold(0, min(20, len(losses)), 1).mean(1)
        ax.plot(range(len(smooth)), smooth.numpy(), label=cell.upper())
    ax.set(xlabel=tr("training step"), ylabel=tr("cross-entropy (nats per character, 20-step mean)"),
           title=tr("character model on {corpus}").format(corpus=CORPUS))
    ax.legend()
    ctx.plot("char_model_loss", fig)


# --- ch49: backpropagation through time by hand ------------------------------------------------

PARAMETERS = ("U", "W", "b", "V", "c")


def rnn_parameters(model: nn.Module) -> dict[str, torch.Tensor]:
    """The chapter's names for the plain RNN's tensors: s_t = tanh(U x_t + W s_{t-1} + b),
    o_t = softmax(V s_t + c) (PyTorch keeps two biases, b_ih + b_hh, whose sum acts as b)."""
    rnn = model.rnn
    return {"U": rnn.weight_ih_l0, "W": rnn.weight_hh_l0, "b": rnn.bias_ih_l0 + rnn.bias_hh_l0,
            "V": model.head.weight, "c": model.head.bias}


def _states(p: dict[str, torch.Tensor], x: torch.Tensor) -> list[torch.Tensor]:
    """[s_{-1} = 0, s_0, s_1, ...]: states[t + 1] is s_t."""
    states = [x.new_zeros(x.shape[0], p["W"].shape[0])]
    for t in range(x.shape[1]):
        states.append(torch.tanh(x[:, t] @ p["U"].T + states[-1] @ p["W"].T + p["b"]))
    return states


def _output_error(p: dict[str, torch.Tensor], s_t: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """dE_t/dz_t = softmax(V s_t + c) - y_t for the cross-entropy E_t."""
    return torch.softmax(s_t @ p["V"].T + p["c"], dim=-1) - F.one_hot(target, p["V"].shape[0])


def _deltas(p: dict[str, torch.Tensor], states: list[torch.Tensor], output_error: torch.Tensor,
            t: int, first: int):
    """(step, dE_t/da_step) for step = t, t-1, ..., first, where a_step = U x_step + W s_step-1 + b:
    the error carried back one step at a time, delta <- (delta W) * (1 - s^2)."""
    delta = (output_error @ p["V"]) * (1 - states[t + 1] ** 2)
    for step in range(t, first - 1, -1):
        yield step, delta
        delta = (delta @ p["W"]) * (1 - states[step] ** 2)


@torch.no_grad()
def bptt_by_hand(model: nn.Module, x: torch.Tensor, targets: torch.Tensor,
                 truncate: int | None = None) -> dict[str, torch.Tensor]:
    """Gradients of E = sum_t E_t (cross-entropy of o_t against targets[:, t], summed over the
    batch) for the plain tanh RNN `model`, backpropagated through time by hand: for each step t
    the error is carried back step by step and each step's share added to dU, dW and db; with
    `truncate` the walk stops `truncate` steps before t (the chapter's truncated BPTT).
    x: (batch, time, inputs) one-hot; targets: (batch, time) class ids.
    """
    p = rnn_parameters(model)
    states = _states(p, x)
    grads = {name: torch.zeros_like(p[name]) for name in PARAMETERS}
    for t in range(x.shape[1]):
        output_error = _output_error(p, states[t + 1], targets[:, t])
        grads["V"] += output_error.T @ states[t + 1]
        grads["c"] += output_error.sum(0)
        first = 0 if truncate is None else max(0, t - truncate)
        for step, delta in _deltas(p, states, output_error, t, first):
            grads["W"] += delta.T @ states[step]
            grads["U"] += delta.T @ x[:, step]
            grads["b"] += delta.sum(0)
    return grads


@torch.no_grad()
def contributions_to_w(model: nn.Module, x: torch.Tensor, targets: torch.Tensor, t: int) -> list[torch.Tensor]:
    """The terms of dE_t/dW = sum_k dE_t/ds_t ds_t/ds_k ds_k/dW, for k = t, t-1, ..., 0 (the
    chapter's example is E_3); the k = 0 term is zero because s_{-1} = 0."""
    p = rnn_parameters(model)
    states = _states(p, x[:, :t + 1])
    output_error = _output_error(p, states[t + 1], targets[:, t])
    return [delta.T @ states[step] for step, delta in _deltas(p, states, output_error, t, 0)]


def bptt_by_autograd(model: nn.Module, x: torch.Tensor, targets: torch.Tensor,
                     truncate: int | None = None) -> dict[str, torch.Tensor]:
    """The same gradients from autograd on the module's own forward pass: the whole unrolled
    graph, or for each E_t the graph restarted from a constant state `truncate` steps before t."""
    model.zero_grad(set_to_none=True)
    if truncate is None:
        F.cross_entropy(model(x).flatten(0, 1), targets.flatten(), reduction="sum").backward()
    else:
        with torch.no_grad():
            hidden, _ = model.rnn(x)
        for t in range(x.shape[1]):
            first = max(0, t - truncate)
            state = hidden[:, first - 1][None].contiguous() if first else None
            logits = model(x[:, first:t + 1], state=state)[:, -1]
            F.cross_entropy(logits, targets[:, t], reduction="sum").backward()
    rnn = model.rnn
    grads = {"U": rnn.weight_ih_l0.grad, "W": rnn.weight_hh_l0.grad, "b": rnn.bias_ih_l0.grad,
             "V": model.head.weight.grad, "c": model.head.bias.grad}
    return {name: grad.detach().clone() for name, grad in grads.items()}


def largest_relative_difference(first: dict[str, torch.Tensor], second: dict[str, torch.Tensor]) -> float:
    """max over tensors of max |a - b| / max |b|."""
    return max(float((first[n] - second[n]).abs().max() / second[n].abs().max().clamp_min(1e-300))
               for n in PARAMETERS)


def one_hot_batch(text: CharText, sequences: int, length: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = text.windows(text.held_out, sequences, length, torch.Generator().manual_seed(seed))
    return F.one_hot(x, len(text.chars)).double(), y


@register("ch49", "A Matemática do Backpropagation Through Time (BPTT)",
          "Backpropagation through time written out, whole and truncated, against autograd")
def bptt(ctx) -> None:
    text = CharText(load_corpus(CORPUS))
    torch.manual_seed(ctx.seed)
    model = nets.build("recurrent", cell="rnn", input_size=len(text.chars), hidden_size=32,
                       n_outputs=len(text.chars), output="sequence").double()
    # W larger than PyTorch's default, so that early steps still matter at t = 20 and truncation shows.
    nn.init.orthogonal_(model.rnn.weight_hh_l0, gain=1.0)
    x, y = one_hot_batch(text, 4, BOOK_SEQUENCE_WORDS, ctx.seed)
    data = tr("{windows} windows of {length} one-hot characters of {corpus}, float64").format(
        windows=4, length=BOOK_SEQUENCE_WORDS, corpus=CORPUS)
    full_hand, full_auto = bptt_by_hand(model, x, y), bptt_by_autograd(model, x, y)
    difference = largest_relative_difference(full_hand, full_auto)
    ctx.report(tr("BPTT by hand vs autograd on the whole unrolled net (largest relative difference, U W b V c)"),
               tr("BPTT is backpropagation on the unrolled net, W's gradient summed over the steps (ch049.md:160)"),
               decimal(f"{difference:.1e}"), data=data, matches=difference < 1e-10,
               reason=tr("the hand-written gradients disagree with autograd"))
    truncate = 4
    cut_hand, cut_auto = bptt_by_hand(model, x, y, truncate), bptt_by_autograd(model, x, y, truncate)
    difference = largest_relative_difference(cut_hand, cut_auto)
    ctx.report(tr("BPTT truncated at {steps} steps, by hand vs autograd on the cut graph").format(steps=truncate),
               tr("truncate backpropagation after a few steps (ch049.md:181)"), decimal(f"{difference:.1e}"),
               data=data, matches=difference < 1e-10,
               reason=tr("the hand-written truncated gradients disagree with autograd"))
    lost = float((cut_hand["W"] - full_hand["W"]).norm() / full_hand["W"].norm())
    ctx.say(tr("truncating at {steps} steps changes dE/dW by {share:.1%} of its norm "
               "(the contributions from further back are dropped)").format(steps=truncate, share=lost))

    # The chapter's example E_3: dE_3/dW = sum_k dE_3/ds_3 ds_3/ds_k ds_k/dW, k = 3, 2, 1, 0
    # (the formula image at ch049.md:148).
    terms = contributions_to_w(model, x, y, 3)
    ctx.say(tr("E_3's terms of dE_3/dW from steps k = 3, 2, 1, 0 (norms; k = 0 meets s_-1 = 0): {norms}").format(
        norms=listed([decimal(f"{float(term.norm()):.3g}") for term in terms])))


# --- ch50: vanishing and exploding gradients ---------------------------------------------------

def largest_slope(function) -> float:
    """The largest derivative of `function` on a fine grid of [-10, 10], by autograd."""
    z = torch.linspace(-10, 10, 200_001, dtype=torch.float64, requires_grad=True)
    function(z).sum().backward()
    return float(z.grad.max())


#: label -> (cell, nonlinearity, gate_bias, W initialised to the identity)
LAG_NETS = {
    "RNN tanh": ("rnn", "tanh", 0.0, False),
    "RNN ReLU": ("rnn", "relu", 0.0, False),
    "RNN ReLU, W = I": ("rnn", "relu", 0.0, True),
    "LSTM": ("lstm", "tanh", 0.0, False),
    f"LSTM, gate_bias {OPEN_GATE_BIAS:g}": ("lstm", "tanh", OPEN_GATE_BIAS, False),
    "GRU": ("gru", "tanh", 0.0, False),
    f"GRU, gate_bias {OPEN_GATE_BIAS:g}": ("gru", "tanh", OPEN_GATE_BIAS, False),
}


def gradient_by_lag(cell: str, nonlinearity: str = "tanh", gate_bias: float = 0.0, identity: bool = False,
                    steps: int = 100, nets_drawn: int = 5, hidden: int = 64, seed: int = 0) -> torch.Tensor:
    """||d output_T / d x_{T-k}|| / ||d output_T / d x_T|| for k = 0 .. steps-1: how much of the
    last step's gradient reaches the input k steps back, averaged over `nets_drawn` freshly
    initialised nets on random inputs."""
    ratios = []
    for draw in range(nets_drawn):
        torch.manual_seed(seed + draw)
        model = nets.build("recurrent", cell=cell, nonlinearity=nonlinearity, gate_bias=gate_bias,
                           input_size=16, hidden_size=hidden, n_outputs=1)
        if identity:  # Le et al. 2015 (IRNN): W = I, so a ReLU unit passes its state on unchanged
            nn.init.eye_(model.rnn.weight_hh_l0)
        x = torch.randn(8, steps, 16, requires_grad=True)
        model(x).sum().backward()
        norms = x.grad.norm(dim=(0, 2)).flip(0)  # index k: k steps before the output
        ratios.append(norms / norms[0])
    return torch.stack(ratios).mean(0)


def exploding_model(text: CharText, seed: int, gain: float = 2.0) -> nn.Module:
    """A plain ReLU character RNN whose recurrent matrix is `gain` x an orthogonal one: every
    step can stretch the state, and the gradient, by up to `gain` (a large Jacobian, ch050.md:70)."""
    torch.manual_seed(seed)
    model = nets.build("recurrent", cell="rnn", nonlinearity="relu", input_size=32, hidden_size=64,
                       vocab_size=len(text.chars), n_outputs=len(text.chars), output="sequence")
    nn.init.orthogonal_(model.rnn.weight_hh_l0, gain=gain)
    return model


CLIPPING = ("none", "norm", "value")


def exploding_run(text: CharText, clip: str, steps: int, seed: int = 0, threshold: float | None = None,
                  lr: float = 0.1, length: int = CONTEXT, device: str | torch.device = "cpu") -> dict:
    """Train `exploding_model` by plain SGD, clipping each gradient by its norm (rescale the whole
    gradient to at most `threshold`, default 1), by value (cut every entry to
    [-threshold, threshold], default 0.1) or not at all. Returns the losses (stopping at the
    first NaN), the gradient norms before clipping, and the cosine between each clipped and
    unclipped gradient."""
    if clip not in CLIPPING:
        raise ValueError(f"clip must be one of {CLIPPING}, got {clip!r}")
    threshold = threshold if threshold is not None else {"norm": 1.0, "value": 0.1}.get(clip)
    model = exploding_model(text, seed).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    losses, norms, cosines = [], [], []
    for _ in range(steps):
        x, y = (part.to(device) for part in text.windows(text.train, 32, length, generator))
        loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
        losses.append(loss.item())
        if not math.isfinite(losses[-1]):
            break
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        raw = torch.cat([p.grad.flatten() for p in model.parameters()])
        norms.append(float(raw.norm()))
        if clip == "norm":
            nn.utils.clip_grad_norm_(model.parameters(), threshold)
        elif clip == "value":
            nn.utils.clip_grad_value_(model.parameters(), threshold)
        clipped = torch.cat([p.grad.flatten() for p in model.parameters()])
        cosines.append(float(F.cosine_similarity(raw, clipped, dim=0)))
        optimizer.step()
    return {"losses": losses, "norms": norms, "cosines": cosines, "threshold": threshold}


def first_nan_step(losses: list[float]) -> int | None:
    """1-based step whose loss is not finite, or None."""
    return next((i + 1 for i, loss in enumerate(losses) if not math.isfinite(loss)), None)


@register("ch50", "A Matemática da Dissipação do Gradiente e Aplicações das RNNs",
          "Vanishing gradients by time lag for RNN, LSTM and GRU; an exploding run ends in NaN, clipping saves it",
          settings=(Setting("lag_steps", 100, 60, low=LAG + 1),
                    Setting("nets_drawn", 10, 3, low=1),
                    Setting("clip_steps", 1000, 200, low=1)))
def vanishing_and_exploding(ctx) -> None:
    tanh_slope, sigmoid_slope = largest_slope(torch.tanh), largest_slope(torch.sigmoid)
    ctx.report(tr("largest derivative of tanh (autograd on [-10, 10])"), BOOK_TANH_SLOPE_BOUND, round(tanh_slope, 6),
               matches=abs(tanh_slope - BOOK_TANH_SLOPE_BOUND) < 1e-6, reason=tr("tanh' exceeds the bound"))
    ctx.report(tr("largest derivative of the sigmoid"), tr("1/4 = {bound:g}").format(bound=BOOK_SIGMOID_SLOPE_BOUND),
               round(sigmoid_slope, 6), matches=abs(sigmoid_slope - BOOK_SIGMOID_SLOPE_BOUND) < 1e-6,
               reason=tr("sigmoid' exceeds the bound"))

    steps = setting(ctx, "lag_steps")
    nets_drawn = setting(ctx, "nets_drawn")
    curves = {label: gradient_by_lag(*spec, steps=steps, nets_drawn=nets_drawn, seed=ctx.seed)
              for label, spec in LAG_NETS.items()}
    at = {label: float(curve[LAG]) for label, curve in curves.items()}
    data = tr("{nets} freshly initialised nets (hidden 64) on random inputs, {steps} steps; "
              "share of the last step's input gradient left {lag} steps back").format(
        nets=nets_drawn, steps=steps, lag=LAG)
    ctx.report(tr("plain tanh RNN: gradient {lag} steps back").format(lag=LAG),
               tr("shrinks exponentially, gone after a few steps (ch050.md:64)"), decimal(f"{at['RNN tanh']:.1e}"),
               data=data, matches=at["RNN tanh"] < VANISHED,
               reason=tr("more than {share:g} of the gradient survives").format(share=VANISHED))
    ctx.report(tr("ReLU RNN, PyTorch's initialisation: gradient {lag} steps back").format(lag=LAG),
               tr("ReLU's derivative is 0 or 1, less prone to vanishing (ch050.md:76)"),
               decimal(f"{at['RNN ReLU']:.1e}"), data=data, matches=at["RNN ReLU"] >= VANISHED,
               reason=tr("with small random W the product of the W's still vanishes: ReLU alone does not help"))
    ctx.report(tr("ReLU RNN started at W = I (Le et al. 2015): gradient {lag} steps back").format(lag=LAG),
               tr("proper initialisation of W reduces the problem (ch050.md:76)"),
               decimal(f"{at['RNN ReLU, W = I']:.2g}"), data=data, matches=at["RNN ReLU, W = I"] >= 1e-2,
               reason=tr("the identity start does not keep the gradient"))
    for cell, gate in (("LSTM", tr("forget gate")), ("GRU", tr("update gate"))):
        opened = f"{cell}, gate_bias {OPEN_GATE_BIAS:g}"
        ctx.report(tr("{cell}: gradient {lag} steps back, PyTorch's initialisation / {gate} biased open").format(
                       cell=cell, lag=LAG, gate=gate),
                   tr("LSTM and GRU were designed to handle vanishing gradients (ch050.md:79)"),
                   decimal(f"{at[cell]:.1e} / {at[opened]:.2g}"), data=data, matches=at[opened] >= 1e-2,
                   reason=tr("even with the {gate} open the gradient vanishes").format(gate=gate))
        ctx.say(tr("{cell} at PyTorch's initialisation: its {gate} sits near sigmoid(0) = 0.5 and halves the "
                   "gradient every step ({left:.1e} left); biased open (sigmoid({bias:g}) = {open:.2f}) it keeps "
                   "{kept:.2g}").format(cell=cell, gate=gate, left=at[cell], bias=OPEN_GATE_BIAS,
                                        open=1 / (1 + math.exp(-OPEN_GATE_BIAS)), kept=at[opened]))

    text = CharText(load_corpus(CORPUS))
    clipped_steps = setting(ctx, "clip_steps")
    wild = exploding_run(text, "none", clipped_steps, ctx.seed, device=ctx.device)
    tamed = exploding_run(text, "norm", clipped_steps, ctx.seed, device=ctx.device)
    nan_at = first_nan_step(wild["losses"])
    run_data = tr("ReLU character RNN, W = 2 x orthogonal, SGD lr 0.1, windows of {length} characters of {corpus}; "
                  "first gradient norm {norm:.2g}").format(length=CONTEXT, corpus=CORPUS, norm=wild["norms"][0])
    ctx.report(tr("exploding run without clipping: step whose loss is NaN"), tr("gradients become NaN (ch050.md:70)"),
               tr("step {step}").format(step=nan_at) if nan_at else tr("never"), data=run_data,
               matches=nan_at is not None, reason=tr("the loss stayed finite"))
    finite = all(math.isfinite(v) for v in tamed["losses"])
    ctx.report(tr("same run, gradient norm clipped at {threshold:g}: loss at step 1 -> {steps}").format(
                   threshold=tamed["threshold"], steps=clipped_steps),
               tr("clipping at a preset threshold is simple and effective (ch050.md:73)"),
               decimal(f"{tamed['losses'][0]:.3g} -> {tamed['losses'][-1]:.3g}"), data=run_data,
               matches=finite and tamed["losses"][-1] < tamed["losses"][0],
               reason=tr("the clipped run did not stay finite and improve"))

    fig, axes = new_figure(1, 2, figsize=(12, 4.2))
    for label, curve in curves.items():
        axes[0].semilogy(range(steps), curve.clamp_min(1e-30).numpy(), label=label)
    axes[0].axhline(VANISHED, color="grey", linestyle=":", linewidth=1,
                    label=tr("vanished ({share:g})").format(share=VANISHED))
    axes[0].set(xlabel=tr("steps back from the output (k)"), ylabel="||dE/dx_{T-k}|| / ||dE/dx_T||",
                title=tr("gradient reaching k steps back"), ylim=(1e-30, 10))
    axes[0].legend(fontsize=7)
    axes[1].semilogy(range(1, len(tamed["losses"]) + 1), tamed["losses"],
                     label=tr("norm clipped at {threshold:g}").format(threshold=tamed["threshold"]))
    axes[1].semilogy(range(1, len(wild["losses"]) + 1), [v if math.isfinite(v) else float("nan") for v in wild["losses"]],
                     marker="o", label=tr("not clipped (NaN at step {step})").format(step=nan_at))
    axes[1].set(xlabel=tr("SGD step"), ylabel=tr(CROSS_ENTROPY_LOSS), title=tr("an exploding ReLU RNN"))
    axes[1].legend()
    ctx.plot("gradient_by_lag", fig)
