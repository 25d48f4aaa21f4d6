"""Chapter 83: liquid neural networks - neurons whose time constants change with the input.

The chapter narrates MIT's "liquid" networks (ch083.md:10-49): equations that keep adapting to
new inputs, built from differential equations, few but richer neurons, and a network that
"beat other state-of-the-art time-series algorithms by a few percent at predicting future
values" (ch083.md:49). It gives no equation; the cell is the paper's (Hasani et al. 2021,
"Liquid Time-constant Networks"), in nets/liquid.py.

The task (made for the demo): forecasting an irregularly sampled signal. Each sequence is a
damped oscillation y(t) = a exp(-g t) sin(w t + p) with its own a, g, w, p, observed with noise
at 40 random times (gaps log-uniform between 0.05 and 0.6). At each sample the model gets the
observed value and the time until the next sample, and predicts the noise-free value there.
The liquid network also integrates its ODE over that real gap; the LSTM, with about the same
number of parameters, reads the gap as an input only. Then both are tested, without
retraining, on sequences whose gaps are twice as long as any seen in training, and on the
book's own claim (ch083.md:37): sequences observed with noise several times stronger than in
training ("noisy data", like rain on a camera), scored against the noise-free signal.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

import nets
from lab.i18n import N_, tr
from lab.plots import new_figure
from nets.liquid import LiquidTimeConstantNet
from supervised.demos import Setting, register
from supervised.demos._training import paired_gap, setting

#: ch083.md:31 "pode ter apenas 302 neurônios": the book, quoting Hasani, says an artificial
#: network can have as few as 302; that 302 is the nervous system of the worm C. elegans is MIT
#: News's (cited at ch083.md:67), not the book's.
BOOK_NEURONS = 302
#: Steps at the start of each sequence left out of the loss: too few samples to tell the oscillation.
BURN_IN = 5
SAMPLES = 40
GAP_RANGE = (0.05, 0.6)  # log-uniform gaps between samples (time units)
NOISE = 0.03
LIQUID_NEURONS = 33  # with the read-out, 1,321 parameters; an LSTM of 16 cells has 1,297
ODE_UNFOLDS = 6  # solver steps per input interval (the paper's reference code uses 6)
#: Initial tau and gate scale w: time constants between tau / (1 + tau w) = 0.16 and 0.3 at the
#: start, so a neuron can move within one gap (~0.2) of a signal whose period is 1.6-4.2. With
#: tau = w = 1 (the module's defaults) the test error after 300 steps was 0.029 against 0.026.
LIQUID_TAU, LIQUID_GATE_SCALE = 0.3, 3.0
#: Adam's step for both models: of 0.005 and 0.02 (300 steps), 0.02 was better for both.
LEARNING_RATE = 0.02
#: The second test: gaps twice as long as in training, so up to 1.2 where training saw 0.6.
SPARSE_SCALE = 2.0
#: The noisy test: observation noise this many times the training noise (never trained on).
NOISY_SCALE = 5.0
BOOK_NOISY = N_("the liquid network is more robust to unexpected or noisy data")  # ch083.md:37
#: The two models, as the figures and plots name them (shown through tr()).
LIQUID, LSTM = N_("liquid (LTC)"), "LSTM"
#: Added to a reason when --quick shrank the run.
REDUCED_UNDER_QUICK = N_("; reduced size under --quick")


def irregular_oscillations(n: int, seed: int, gap_scale: float = 1.0, noise: float = NOISE
                           ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, dict[str, np.ndarray]]:
    """n sequences: inputs (n, T, 2) = (observed y_k, gap to the next sample), elapsed (n, T)
    = that gap, targets (n, T) = the noise-free y at the next sample; plus the raw draws.
    `noise` is the std of the observation noise; the other draws do not depend on it."""
    rng = np.random.default_rng(seed)
    amplitude = rng.uniform(0.5, 1.5, (n, 1))
    damping = rng.uniform(0.0, 0.3, (n, 1))
    frequency = rng.uniform(1.5, 4.0, (n, 1))
    phase = rng.uniform(0, 2 * math.pi, (n, 1))
    gaps = gap_scale * np.exp(rng.uniform(*np.log(GAP_RANGE), (n, SAMPLES)))
    times = np.concatenate([np.zeros((n, 1)), np.cumsum(gaps, axis=1)], axis=1)  # SAMPLES + 1 times

    def signal(t: np.ndarray) -> np.ndarray:
        return amplitude * np.exp(-damping * t) * np.sin(frequency * t + phase)

    clean = signal(times)
    observed = clean[:, :-1] + noise * rng.normal(0, 1.0, (n, SAMPLES))
    inputs = np.stack([observed, gaps], axis=-1).astype(np.float32)
    raw = dict(times=times, clean=clean, observed=observed, amplitude=amplitude, damping=damping,
               frequency=frequency, phase=phase)
    return (torch.from_numpy(inputs), torch.from_numpy(gaps.astype(np.float32)),
            torch.from_numpy(clean[:, 1:].astype(np.float32)), raw)


def lstm_width_matching(parameters: int, input_size: int = 2) -> int:
    """Cells of the one-layer LSTM (with a 1-output read-out) whose count is closest to `parameters`."""
    def count(h: int) -> int:
        return 4 * (h * h + h * input_size + 2 * h) + h + 1
    return min(range(1, 256), key=lambda h: abs(count(h) - parameters))


def build_pair(seed: int) -> dict[str, nn.Module]:
    torch.manual_seed(seed)
    liquid = nets.build("liquid", input_size=2, hidden_size=LIQUID_NEURONS, n_outputs=1, ode_unfolds=ODE_UNFOLDS,
                        tau=LIQUID_TAU, gate_scale=LIQUID_GATE_SCALE)
    width = lstm_width_matching(nets.count_parameters(liquid))
    torch.manual_seed(seed)
    lstm = nets.build("recurrent", input_size=2, cell="lstm", hidden_size=width, n_outputs=1, output="sequence")
    return {LIQUID: liquid, LSTM: lstm}


def predict(model: nn.Module, inputs: torch.Tensor, elapsed: torch.Tensor) -> torch.Tensor:
    """(n, T) predictions; the liquid network integrates over the elapsed times."""
    if isinstance(model, LiquidTimeConstantNet):
        return model(inputs, elapsed).squeeze(-1)
    return model(inputs).squeeze(-1)


def squared_errors(model: nn.Module, data) -> torch.Tensor:
    """Per-sequence mean squared error after the burn-in, (n,)."""
    inputs, elapsed, targets, _ = data
    model.eval()
    with torch.no_grad():
        return ((predict(model, inputs, elapsed) - targets)[:, BURN_IN:] ** 2).mean(1)


def train(ctx, name: str, model: nn.Module, data, steps: int, batch: int, lr: float = LEARNING_RATE) -> list[float]:
    inputs, elapsed, targets, _ = data
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps, eta_min=lr / 10)
    generator = torch.Generator().manual_seed(ctx.seed)
    tag = "liquid" if "liquid" in name else "lstm"
    curve = []
    for step in range(steps):
        model.train()
        rows = torch.randint(len(inputs), (batch,), generator=generator)
        loss = ((predict(model, inputs[rows], elapsed[rows]) - targets[rows])[:, BURN_IN:] ** 2).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        curve.append(loss.item())
        if step % 20 == 0 or step == steps - 1:
            ctx.logger.scalars(step, {f"ch83/{tag}/train_mse": loss.item()})
    return curve


@register("ch83", "Liquid Neural Network – Rede Neural Líquida",
          "Liquid neural networks: an LTC cell against an LSTM of equal size on irregularly sampled data",
          settings=(Setting("steps", 1500, 250, low=1),
                    Setting("train_sequences", 2000, 1000, low=1),
                    Setting("batch", 32, low=1)))
def liquid(ctx) -> None:
    steps = setting(ctx, "steps")
    n_train = setting(ctx, "train_sequences")
    batch = setting(ctx, "batch")
    train_data = irregular_oscillations(n_train, ctx.seed)
    test_data = irregular_oscillations(500, ctx.seed + 1)
    sparse_data = irregular_oscillations(500, ctx.seed + 2, gap_scale=SPARSE_SCALE)
    noisy_data = irregular_oscillations(500, ctx.seed + 1, noise=NOISY_SCALE * NOISE)  # the test set, noisier
    data = tr("damped oscillations made for the demo, {samples} samples at log-uniform gaps {low:g}-{high:g}, "
              "noise {noise:g}: {train:,} train / {test} test sequences").format(
        samples=SAMPLES, low=GAP_RANGE[0], high=GAP_RANGE[1], noise=NOISE, train=n_train, test=500)
    ctx.say(tr("data: {data}; predict the value at the next sample from the samples so far").format(data=data))
    quick_note = tr(REDUCED_UNDER_QUICK) if ctx.quick else ""

    models = build_pair(ctx.seed)
    counts = {name: nets.count_parameters(model) for name, model in models.items()}
    liquid_model, lstm = models[LIQUID], models[LSTM]
    curves, errors, sparse_errors, noisy_errors = {}, {}, {}, {}
    for name, model in models.items():
        curves[name] = train(ctx, name, model, train_data, steps, batch)
        errors[name], sparse_errors[name] = squared_errors(model, test_data), squared_errors(model, sparse_data)
        noisy_errors[name] = squared_errors(model, noisy_data)
        ctx.say(tr("  {name}: {parameters:,} parameters, test MSE {test:.4f}, gaps x{gap_scale:g}: {sparse:.4f}, "
                   "noise x{noise_scale:g}: {noisy:.4f}").format(
            name=tr(name), parameters=counts[name], test=float(errors[name].mean()), gap_scale=SPARSE_SCALE,
            sparse=float(sparse_errors[name].mean()), noise_scale=NOISY_SCALE, noisy=float(noisy_errors[name].mean())))
    inputs, _, targets, _ = test_data
    persistence = float(((inputs[:, :, 0] - targets)[:, BURN_IN:] ** 2).mean())
    variance = float(targets[:, BURN_IN:].var())

    ctx.report(tr("parameters: liquid network vs LSTM (LSTM width chosen to match)"), tr("not given"),
               tr("{liquid:,} ({neurons} neurons) vs {lstm:,} ({cells} cells)").format(
                   liquid=counts[LIQUID], neurons=LIQUID_NEURONS, lstm=counts[LSTM], cells=lstm.rnn.hidden_size),
               matches=None,
               reason=tr("the book gives no sizes; equal counts keep the comparison fair ({difference:+.1f}%)").format(
                   difference=100 * (counts[LSTM] / counts[LIQUID] - 1)))
    ctx.report(tr("neurons in the liquid network"), f"{BOOK_NEURONS} (ch083.md:31)", LIQUID_NEURONS, matches=None,
               reason=tr("the book says a liquid network can have as few as 302 neurons; this small "
                         "forecasting task is learnt with fewer"))

    gap, noise = paired_gap(errors[LSTM], errors[LIQUID])
    liquid_mse, lstm_mse = float(errors[LIQUID].mean()), float(errors[LSTM].mean())
    better = gap > noise
    ctx.report(tr("test MSE at the next irregular sample: liquid vs LSTM (persistence: {persistence:.3f}, "
                  "variance of the target: {variance:.3f})").format(persistence=persistence, variance=variance),
               tr("the liquid network beat other time-series models by a few percent at predicting "
                  "future values (ch083.md:49)"),
               tr("{liquid:.4f} vs {lstm:.4f} ({advantage} for the liquid network)").format(
                   liquid=liquid_mse, lstm=lstm_mse, advantage=f"{100 * (1 - liquid_mse / lstm_mse):+.0f}%"),
               data=data, matches=better,
               reason="" if better else (tr("the LSTM is better on this task") if gap < -noise else
                                         tr("the gap is within two standard errors ({noise:.4f}) on this task").format(
                                             noise=noise)) + quick_note)
    sparse_gap, sparse_noise = paired_gap(sparse_errors[LSTM], sparse_errors[LIQUID])
    sparse_liquid, sparse_lstm = float(sparse_errors[LIQUID].mean()), float(sparse_errors[LSTM].mean())
    ctx.report(tr("test MSE with gaps {scale:g}x as long as in training (never trained on): liquid vs LSTM").format(
                   scale=SPARSE_SCALE),
               tr("a liquid network adapts to changes in the incoming data stream (ch083.md:37)"),
               tr("{liquid:.4f} vs {lstm:.4f}").format(liquid=sparse_liquid, lstm=sparse_lstm), data=data,
               matches=sparse_gap > sparse_noise,
               reason="" if sparse_gap > sparse_noise else
               (tr("the LSTM copes better") if sparse_gap < -sparse_noise else
                tr("the gap is within two standard errors ({noise:.4f})").format(noise=sparse_noise)) + quick_note)
    # The book's claim: more robust to noisy inputs. The same test sequences (same signals, gaps and
    # noise draws, the noise scaled up), so each sequence's error rise is paired with itself.
    # Robust means losing less to the noise without simply being worse on noisy inputs (a model that
    # ignored its inputs would lose nothing): both are judged, each paired over the sequences.
    rise = {name: noisy_errors[name] - errors[name] for name in models}
    rise_gap, rise_noise = paired_gap(rise[LSTM], rise[LIQUID])
    level_gap, level_noise = paired_gap(noisy_errors[LSTM], noisy_errors[LIQUID])
    noisy_liquid, noisy_lstm = float(noisy_errors[LIQUID].mean()), float(noisy_errors[LSTM].mean())
    loses_less, not_worse = rise_gap > rise_noise, level_gap > -level_noise
    robust = loses_less and not_worse
    ctx.report(tr("rise of the test MSE when the same sequences are observed with noise {scale:g}x that of "
                  "training (std {std:g}, never trained on), and the MSE with that noise: liquid vs LSTM").format(
                   scale=NOISY_SCALE, std=NOISY_SCALE * NOISE),
               tr(BOOK_NOISY),
               tr("rise {liquid_rise:+.4f} vs {lstm_rise:+.4f} (LSTM - liquid {rise_gap:+.4f} +- {rise_noise:.4f}); "
                  "MSE {liquid:.4f} vs {lstm:.4f} (LSTM - liquid {level_gap:+.4f} +- {level_noise:.4f})").format(
                   liquid_rise=float(rise[LIQUID].mean()), lstm_rise=float(rise[LSTM].mean()), rise_gap=rise_gap,
                   rise_noise=rise_noise, liquid=noisy_liquid, lstm=noisy_lstm, level_gap=level_gap,
                   level_noise=level_noise),
               data=data, matches=robust,
               reason="" if robust else
               (tr("the liquid network's error does not rise less by two standard errors") if not loses_less else
                tr("its error rises less, but with the noise it is still worse than the LSTM's by more than two "
                   "standard errors")) + quick_note)
    ctx.logger.scalars(steps, {"ch83/liquid/noisy_test_mse": noisy_liquid, "ch83/lstm/noisy_test_mse": noisy_lstm})
    ctx.logger.scalars(steps, {"ch83/liquid/test_mse": liquid_mse, "ch83/lstm/test_mse": lstm_mse,
                               "ch83/liquid/sparse_test_mse": sparse_liquid, "ch83/lstm/sparse_test_mse": sparse_lstm,
                               "ch83/persistence_mse": persistence})

    # What is liquid: each neuron's time constant 1 / (1/tau + f(x, I)) moves with the input.
    liquid_model.eval()
    with torch.no_grad():
        constants = liquid_model.time_constants(test_data[0], test_data[1])  # (n, T, H)
        low, high = constants.flatten(0, 1).quantile(0.05, dim=0), constants.flatten(0, 1).quantile(0.95, dim=0)
    spread = (high / low).median().item()
    ctx.report(tr("effective time constant of each neuron across the test inputs: 95th / 5th percentile "
                  "(median neuron)"), tr("the equations change to adapt to new inputs (ch083.md:10, ch083.md:34)"),
               tr("{spread:.2f}x").format(spread=spread), data=data, matches=spread > 1.1,
               reason=tr("the time constants barely move with the input (under 10%)"))

    _plot(ctx, models, curves, test_data, sparse_data, constants)


def _plot(ctx, models, curves, test_data, sparse_data, constants) -> None:
    fig, axes = new_figure(1, 2, figsize=(13, 4))
    for data, ax, title in zip((test_data, sparse_data), axes,
                               (tr("a test sequence, gaps as in training"),
                                tr("a test sequence, gaps {scale:g}x as long (never trained on)").format(
                                    scale=SPARSE_SCALE))):
        inputs, elapsed, _, raw = data
        fine = np.linspace(0, raw["times"][0, -1], 400)
        curve = raw["amplitude"][0] * np.exp(-raw["damping"][0] * fine) * np.sin(raw["frequency"][0] * fine + raw["phase"][0])
        ax.plot(fine, curve, color="grey", lw=1, label=tr("signal"))
        ax.plot(raw["times"][0, :-1], raw["observed"][0], "k.", label=tr("observed samples"))
        for name, model in models.items():
            with torch.no_grad():
                model.eval()
                guess = predict(model, inputs[:1], elapsed[:1])[0].numpy()
            ax.plot(raw["times"][0, 1:], guess, marker="o", ms=3, lw=0.8,
                    label=tr("{name}: prediction at the next sample").format(name=tr(name)))
        ax.axvspan(0, raw["times"][0, BURN_IN], color="orange", alpha=0.1, label=tr("burn-in (not scored)"))
        ax.set(xlabel=tr("time"), ylabel="y", title=title)
        ax.legend(fontsize=7)
    ctx.plot("ch83_predictions", fig)

    fig, (ax_loss, ax_tau) = new_figure(1, 2, figsize=(13, 4))
    for name, curve in curves.items():
        smooth = np.convolve(curve, np.ones(10) / 10, mode="valid")
        ax_loss.semilogy(smooth, label=tr("{name} ({parameters:,} parameters)").format(
            name=tr(name), parameters=nets.count_parameters(models[name])))
    ax_loss.set(xlabel=tr("step (batch of sequences)"), ylabel=tr("training MSE (mean of 10 steps)"),
                title=tr("training"))
    ax_loss.legend()
    times = test_data[3]["times"][0, 1:]
    for neuron in range(6):
        ax_tau.plot(times, constants[0, :, neuron].numpy(), marker=".", ms=3, lw=0.8,
                    label=tr("neuron {index}").format(index=neuron))
    ax_tau.set(xlabel=tr("time"), ylabel="1 / (1/tau + f(x, I))",
               title=tr("liquid time constants along one test sequence"))
    ax_tau.legend(fontsize=7, ncol=2)
    ctx.plot("ch83_time_constants", fig)
