"""Chapter 85: why attention, and why the Transformer dropped the recurrence.

* "in a classic LSTM encoder-decoder, to produce the first word of the output the model
  receives only the state vector of the last input word ... in practice this information is
  often not well preserved; with attention it can look at the states of the first tokens"
  (ch085.md:45-48). Measured: two LSTM encoder-decoders of the same width, one whose decoder
  starts from the encoder's last state only, one that also attends (dot-product attention,
  Luong et al. 2015) over every encoder state, trained on the same task made for the demo -
  copy a sequence of random digits - at growing lengths; accuracy per length and per output
  position, and where the attention looks.
* "Transformers do not need the data processed in order ... this allows much more
  parallelisation" (ch085.md:29, ch085.md:51). Read off the computation, not assumed: how many
  times the LSTM cell runs, each on the state the previous run left, to read T tokens, against
  how many times a self-attention layer of nets/transformer.py runs; and the longest chain of
  dependent operations in each one's autograd graph as T grows.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from lab.i18n import N_, number, tr
from lab.plots import new_figure
from nets.transformer import EncoderBlock
from supervised.demos import Setting, register
from supervised.demos._training import paired_gap, setting

BOOK_LAST_STATE = "ch085.md:48"  # "o modelo recebe apenas o vetor de estado da última palavra em inglês"
BOOK_ATTENTION = "ch085.md:45"  # "permitem que um modelo olhe diretamente ... no estado em qualquer ponto anterior"
BOOK_PARALLEL = "ch085.md:29"  # "não exigem que os dados sequenciais sejam processados em ordem ... paralelização"
BOOK_ALL_AT_ONCE = "ch085.md:51"  # "processando todos os tokens ao mesmo tempo"

#: The two decoders, as the figures and plots name them (shown through tr()).
LAST_STATE, ATTENDING = N_("last state only"), N_("with attention")
#: Added to a reason when --quick shrank the run.
REDUCED_UNDER_QUICK = N_("; reduced size under --quick")

SYMBOLS = 10  # the digits 0-9; the decoder starts from one more token, BOS
BOS = SYMBOLS


class LSTMEncoderDecoder(nn.Module):
    """An LSTM encoder and an LSTM decoder of the same width. The decoder starts from the
    encoder's last (h, c); with `attention` each decoder state also scores every encoder state
    (dot product / sqrt(d)), takes their softmax-weighted mean (the context) and reads out
    tanh(W [h; context]) (Luong et al. 2015); without it the read-out is h alone."""

    def __init__(self, hidden: int, attention: bool) -> None:
        super().__init__()
        self.hidden = hidden
        self.embed = nn.Embedding(SYMBOLS + 1, hidden)
        self.encoder = nn.LSTM(hidden, hidden, batch_first=True)
        self.decoder = nn.LSTM(hidden, hidden, batch_first=True)
        self.attention = attention
        self.combine = nn.Linear(2 * hidden, hidden) if attention else None
        self.out = nn.Linear(hidden, SYMBOLS)

    def encode(self, source: torch.Tensor):
        """Every encoder state (B, T, d) and the last (h, c)."""
        return self.encoder(self.embed(source))

    def read_out(self, states: torch.Tensor, memory: torch.Tensor):
        """Logits for decoder states (B, T_out, d) and the attention weights (B, T_out, T_in)."""
        if not self.attention:
            return self.out(states), None
        weights = (states @ memory.transpose(1, 2) / math.sqrt(self.hidden)).softmax(-1)
        context = weights @ memory
        return self.out(torch.tanh(self.combine(torch.cat([states, context], -1)))), weights

    def forward(self, source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: logits for every target token, given the ones before it."""
        memory, last_state = self.encode(source)
        previous = torch.cat([torch.full_like(target[:, :1], BOS), target[:, :-1]], 1)
        states, _ = self.decoder(self.embed(previous), last_state)
        return self.read_out(states, memory)[0]

    @torch.no_grad()
    def copy(self, source: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Greedy decoding of as many tokens as the source has; the attention weights too."""
        self.eval()
        memory, state = self.encode(source)
        token = torch.full_like(source[:, :1], BOS)
        output, maps = [], []
        for _ in range(source.size(1)):
            states, state = self.decoder(self.embed(token), state)
            logits, weights = self.read_out(states, memory)
            token = logits.argmax(-1)
            output.append(token)
            maps.append(weights)
        return torch.cat(output, 1), (torch.cat(maps, 1) if self.attention else None)


def digits(n: int, length: int, generator: torch.Generator) -> torch.Tensor:
    return torch.randint(0, SYMBOLS, (n, length), generator=generator)


def train_copier(ctx, model: LSTMEncoderDecoder, lengths: tuple[int, ...], steps: int, tag: str,
                 batch_size: int = 64, lr: float = 1e-2) -> list[float]:
    """Each batch one length, the lengths in turn; Adam with gradient clipping."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(ctx.seed)
    losses = []
    for step in range(steps):
        model.train()
        source = digits(batch_size, lengths[step % len(lengths)], generator)
        logits = model(source, source)
        loss = nn.functional.cross_entropy(logits.reshape(-1, SYMBOLS), source.reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        losses.append(loss.item())
        if step % 25 == 0 or step == steps - 1:
            ctx.logger.scalars(step, {f"ch85/{tag}/train_loss": losses[-1]})
    return losses


# --- what runs in sequence ---------------------------------------------------------------------

def calls(module: nn.Module, run) -> int:
    """How many times `module` runs during `run()`."""
    count = [0]
    handle = module.register_forward_hook(lambda *_: count.__setitem__(0, count[0] + 1))
    try:
        run()
    finally:
        handle.remove()
    return count[0]


def longest_chain(output: torch.Tensor) -> int:
    """The number of operations on the longest path of `output`'s autograd graph: operations
    that can only run one after another, however many processors there are."""
    depth: dict = {}
    stack = [(output.grad_fn, False)]
    while stack:
        node, expanded = stack.pop()
        if node is None or node in depth:
            continue
        children = [child for child, _ in node.next_functions if child is not None]
        if expanded:
            depth[node] = 1 + max((depth[child] for child in children), default=0)
        else:
            stack.append((node, True))
            stack.extend((child, False) for child in children if child not in depth)
    return depth[output.grad_fn]


def unrolled_cell(lstm: nn.LSTM) -> nn.LSTMCell:
    """An LSTMCell holding the one-layer `lstm`'s own weights: one call per token."""
    cell = nn.LSTMCell(lstm.input_size, lstm.hidden_size)
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        setattr(cell, name, getattr(lstm, f"{name}_l0"))
    return cell


def sequential_steps(lengths: tuple[int, ...], model: LSTMEncoderDecoder, seed: int = 0) -> dict[str, list]:
    """For each length T: how many times the cell of `model`'s LSTM encoder runs, each on the
    state the run before left, to give the encoder's output (checked equal to nn.LSTM's), and
    how many times the self-attention of a transformer encoder block of the same width runs;
    and the longest chain of dependent operations in each one's autograd graph."""
    torch.manual_seed(seed)
    block = EncoderBlock(model.hidden, 4, 2 * model.hidden)
    cell = unrolled_cell(model.encoder)
    result = {"lstm_calls": [], "attention_calls": [], "lstm_chain": [], "attention_chain": [], "equal": []}
    for length in lengths:
        features = model.embed(torch.randint(0, SYMBOLS, (2, length)))
        outputs = {}

        def recur() -> None:
            h = c = torch.zeros(2, model.hidden)
            for t in range(length):
                h, c = cell(features[:, t], (h, c))
            outputs["lstm"] = h

        result["lstm_calls"].append(calls(cell, recur))
        result["attention_calls"].append(calls(block.self_attention,
                                               lambda: outputs.update(attention=block(features))))
        result["equal"].append(float((outputs["lstm"] - model.encoder(features)[0][:, -1]).abs().max().detach()))
        result["lstm_chain"].append(longest_chain(outputs["lstm"]))
        result["attention_chain"].append(longest_chain(outputs["attention"]))
    return result


@register("ch85", "Transformadores – O Estado da Arte em Processamento de Linguagem Natural",
          "Transformers: attention instead of the last state vector; no sequential processing",
          settings=(Setting("steps", 3000, 400, low=1),
                    Setting("hidden", 64, low=1),
                    Setting("lengths", (5, 10, 20, 30), (4, 8, 16), low=1),
                    Setting("test_sequences", 500, 200, low=1)))
def attention_and_parallelism(ctx) -> None:
    # Quick: 400 steps at lr 0.01 copy 16 digits at 45% vs 80% (seed 0); 600 steps at lr 0.003
    # gave 37% vs 80% in half again the time.
    steps = setting(ctx, "steps")
    hidden = setting(ctx, "hidden")
    lengths = setting(ctx, "lengths")
    n_test = setting(ctx, "test_sequences")
    data = tr("copying random digit sequences (task made for the demo): lengths {lengths} trained in turn, "
              "{steps} batches of 64; {test} new test sequences per length").format(
        lengths=", ".join(map(str, lengths)), steps=steps, test=n_test)
    ctx.say(tr("data: {source}").format(source=data))
    quick_note = tr(REDUCED_UNDER_QUICK) if ctx.quick else ""

    models = {}
    for name, attention in ((LAST_STATE, False), (ATTENDING, True)):
        torch.manual_seed(ctx.seed)
        models[name] = LSTMEncoderDecoder(hidden, attention)
    counts = {name: sum(p.numel() for p in m.parameters()) for name, m in models.items()}
    ctx.say(tr("parameters: {counts}").format(counts=", ".join(f"{tr(name)} {number(n)}" for name, n in counts.items())))
    losses = {name: train_copier(ctx, model, lengths, steps, "attention" if model.attention else "last_state")
              for name, model in models.items()}

    generator = torch.Generator().manual_seed(ctx.seed + 1)
    tests = {length: digits(n_test, length, generator) for length in lengths}
    per_sequence, per_position, maps = {}, {}, {}
    for name, model in models.items():
        for length, source in tests.items():
            output, weights = model.copy(source)
            right = (output == source).float()
            per_sequence[name, length] = right.mean(1)
            per_position[name, length] = right.mean(0).numpy()
            maps[name, length] = weights
    accuracy = {key: float(v.mean()) for key, v in per_sequence.items()}
    for (name, length), value in accuracy.items():
        ctx.logger.scalars(length, {f"ch85/copy_accuracy/{name.replace(' ', '_')}": value})
    longest = lengths[-1]
    plain, attended = (accuracy[name, longest] for name in models)
    gap, noise = paired_gap(per_sequence[ATTENDING, longest], per_sequence[LAST_STATE, longest])
    better = gap > noise
    ctx.report(tr("digits copied right at length {length}: decoder given only the encoder's last state vs "
                  "with attention over every state").format(length=longest),
               tr("the last state holds the sentence poorly in practice; attention looks at any earlier state "
                  "({last_state}, {attention})").format(last_state=BOOK_LAST_STATE, attention=BOOK_ATTENTION),
               tr("{plain:.1f}% vs {attended:.1f}% (chance {chance:.0f}%)").format(
                   plain=100 * plain, attended=100 * attended, chance=100 / SYMBOLS), data=data,
               matches=better, reason="" if better else tr("gap {gap:+.1f} points, two standard errors {noise:.1f}").format(
                   gap=100 * gap, noise=100 * noise) + quick_note)
    table = ", ".join(f"{length}: {100 * accuracy[LAST_STATE, length]:.0f}% vs "
                      f"{100 * accuracy[ATTENDING, length]:.0f}%" for length in lengths)
    shortest = lengths[0]
    drop_plain = accuracy[LAST_STATE, shortest] - plain
    drop_attended = accuracy[ATTENDING, shortest] - attended
    falls = drop_plain > drop_attended + noise
    ctx.report(tr("copy accuracy by length (last state only vs with attention)"),
               tr("a longer sentence is held less well in the last state ({citation})").format(citation=BOOK_LAST_STATE),
               table, data=data, matches=falls,
               reason="" if falls else tr("the last-state model does not lose more with length than the attention "
                                          "model") + quick_note)
    first_third = max(1, longest // 3)
    positions = per_position[LAST_STATE, longest]
    early, late = float(positions[:first_third].mean()), float(positions[-first_third:].mean())
    ctx.report(tr("last state only, length {length}: accuracy on the first vs the last {count} output digits").format(
                   length=longest, count=first_third),
               tr("the first output word depends on the start of the input, which the last state keeps poorly "
                  "({citation})").format(citation=BOOK_LAST_STATE),
               tr("{early:.1f}% vs {late:.1f}%").format(early=100 * early, late=100 * late),
               data=data, matches=early < late,
               reason="" if early < late else tr("the first digits are copied better than the last: the decoder "
                                                 "runs through the input in order and its errors pile up toward the end"))
    weights = maps[ATTENDING, longest]
    on_diagonal = float(weights.diagonal(dim1=1, dim2=2).mean())
    ctx.report(tr("attention weight on the input digit being copied (length {length}, mean over steps)").format(
                   length=longest),
               tr("attention looks directly at the state it needs ({citation})").format(citation=BOOK_ATTENTION),
               tr("{weight:.2f} (uniform: {uniform:.2f})").format(weight=on_diagonal, uniform=1 / longest), data=data,
               matches=None, reason=tr("the book gives no weight; the toy task's right answer is one input position"))
    ctx.report(tr("parameters: last state only vs with attention"), tr("not given"),
               tr("{plain:,} vs {attended:,}").format(plain=counts[LAST_STATE], attended=counts[ATTENDING]),
               matches=None, reason=tr("same LSTM width; attention adds only the read-out W [h; context]"))

    step_lengths = (8, 16, 32)
    counted = sequential_steps(step_lengths, models[LAST_STATE], ctx.seed)
    # The call counts follow from how the loop and the block are written; what is measured is
    # that T cell steps in order rebuild nn.LSTM's output exactly.
    exact = max(counted["equal"]) < 1e-5
    ctx.report(tr("the trained LSTM encoder's output for T = {lengths} tokens rebuilt by running its cell T times in "
                  "order ({cell_calls} cell calls; self-attention: {attention_calls} call, counted by forward "
                  "hooks)").format(lengths=", ".join(map(str, step_lengths)),
                                   cell_calls="/".join(map(str, counted["lstm_calls"])),
                                   attention_calls="/".join(map(str, counted["attention_calls"]))),
               tr("an RNN processes the tokens in order; attention all at once ({in_order}, {at_once})").format(
                   in_order=BOOK_PARALLEL, at_once=BOOK_ALL_AT_ONCE),
               tr("max difference from nn.LSTM {difference:.1e}").format(difference=max(counted["equal"])),
               matches=exact, reason="" if exact else tr("the unrolled cell does not reproduce nn.LSTM"))
    lstm_grows = all(b > a for a, b in zip(counted["lstm_chain"], counted["lstm_chain"][1:]))
    flat = len(set(counted["attention_chain"])) == 1
    ctx.report(tr("longest chain of dependent operations (autograd graph) for T = {lengths}: LSTM encoder vs a "
                  "transformer encoder block").format(lengths=", ".join(map(str, step_lengths))),
               tr("no sequential processing, so it parallelises ({citation})").format(citation=BOOK_PARALLEL),
               tr("LSTM {lstm} vs transformer block {attention}").format(
                   lstm="/".join(map(str, counted["lstm_chain"])), attention="/".join(map(str, counted["attention_chain"]))),
               matches=lstm_grows and flat,
               reason="" if lstm_grows and flat else tr("the chains do not grow with T for the LSTM only"))
    _plot(ctx, models, lengths, accuracy, per_position, maps, losses, step_lengths, counted, tests)


def _plot(ctx, models, lengths, accuracy, per_position, maps, losses, step_lengths, counted, tests) -> None:
    longest = lengths[-1]
    fig, axes = new_figure(1, 4, figsize=(20, 4.2))
    ax_length, ax_position, ax_map, ax_steps = axes
    for name in models:
        ax_length.plot(lengths, [100 * accuracy[name, n] for n in lengths], marker="o", label=tr(name))
        ax_position.plot(range(1, longest + 1), 100 * per_position[name, longest], marker=".", label=tr(name))
    for ax in (ax_length, ax_position):
        ax.axhline(100 / SYMBOLS, color="grey", ls=":", label=tr("chance"))
        ax.set(ylabel=tr("digits copied right (%)"), ylim=(0, 105))
        ax.legend(fontsize=8)
    ax_length.set(xlabel=tr("sequence length"), title=tr("LSTM encoder-decoder: copying"), xticks=list(lengths))
    ax_position.set(xlabel=tr("output position (length {length})").format(length=longest),
                    title=tr("which digits are lost"))
    image = ax_map.imshow(maps[ATTENDING, longest][0].numpy(), cmap="viridis", vmin=0, vmax=1)
    ax_map.set(xlabel=tr("input position"), ylabel=tr("output step"), title=tr("attention, one test sequence"))
    fig.colorbar(image, ax=ax_map)
    ax_steps.plot(step_lengths, counted["lstm_calls"], marker="o", label=tr("LSTM cell calls"))
    ax_steps.plot(step_lengths, counted["attention_calls"], marker="o", label=tr("self-attention calls"))
    ax_steps.plot(step_lengths, counted["lstm_chain"], marker="s", ls="--", label=tr("LSTM: longest chain of ops"))
    ax_steps.plot(step_lengths, counted["attention_chain"], marker="s", ls="--",
                  label=tr("transformer block: longest chain"))
    ax_steps.set_yscale("log")
    ax_steps.set(xlabel=tr("tokens T"), ylabel=tr("count"), title=tr("what must run one after another"),
                 xticks=list(step_lengths))
    ax_steps.legend(fontsize=8)
    ctx.plot("ch85_attention", fig)

    fig, ax = new_figure(figsize=(6, 3.5))
    for name, curve in losses.items():
        ax.semilogy(curve, label=tr(name), lw=1)
    ax.set(xlabel=tr("step (batch 64, lengths in turn)"), ylabel=tr("cross-entropy per digit"), title=tr("training"))
    ax.legend(fontsize=8)
    ctx.plot("ch85_training", fig)
