"""Chapters 37-39: batch size, learning rate, and the gradient of a mini-batch.

Chapter 37 trains a multilayer perceptron with two hidden layers of 1,024 ReLU neurons by
plain SGD (learning rate 0.01) with mini-batches of 64, 256 and 1,024 images: for the same
number of epochs the large batches fall behind, because an epoch gives them 16 times fewer
updates of about the same size. Chapter 38: raising the learning rate for batch 1,024 to 0.1
recovers most of the gap (the step per image is back near batch 64's), and a schedule (warm
up, then decay) keeps large steps stable. Chapter 39 looks at the gradient itself.

What grows like sqrt(B)? A mini-batch gradient is the true gradient G plus noise whose
variance falls as 1/B. So, measured here over many random mini-batches:
* the norm of the mini-batch MEAN gradient (what SGD steps along) FALLS with B, towards |G|;
* the norm of the SUM of the B per-example gradients grows like sqrt(B) while the noise
  dominates (small B), and like B once the signal does;
* the noise of the mean, |g_B - G|, falls like 1/sqrt(B), so the signal-to-noise ratio
  |G| / |g_B - G| grows like sqrt(B): a batch 4 times larger halves the noise, not quarters it.
This is why a larger batch can take a larger learning rate.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import torch

import nets
from supervised.demos import register
from supervised.demos._training import describe, fit, percent, setting, train_size
from supervised.trainer import cost_function, training_threads

BATCH_SIZES = (64, 256, 1024)


def _relu_mlp(ctx, pixels: int, hidden: int) -> torch.nn.Module:
    torch.manual_seed(ctx.seed)
    return nets.build("mlp", sizes=[pixels, hidden, hidden, 10], activation="relu", init="default").to(ctx.device)


@register("ch37", "O Efeito do Batch Size / da Taxa de Aprendizagem / Lote e Gradiente (caps. 37-39)",
          "Batch size, learning rate and the mini-batch gradient (chapters 37-39)")
def demo(ctx) -> None:
    dataset = ctx.dataset()
    pixels = dataset.input_size
    n_train = setting(ctx, "train_size", None, 2_000)
    epochs = setting(ctx, "epochs", 30, 8)
    hidden = setting(ctx, "hidden", 1024, 256)  # quick mode: 2x256, about 12 times less arithmetic
    data = describe(dataset, n_train, f"2x{hidden} ReLU, softmax + log-likelihood, {epochs} epochs")

    histories = {}
    runs = [(batch, 0.01, None) for batch in BATCH_SIZES] + [(1024, 0.1, None), (1024, 0.1, "warmup+decay")]
    for batch, lr, schedule in runs:
        name = f"batch_{batch}_lr_{lr}" + ("_schedule" if schedule else "")
        ctx.say(f"[{pixels}, {hidden}, {hidden}, 10] ReLU, SGD lr {lr}, mini-batch {batch}"
                + (f", {schedule}" if schedule else "") + f", {epochs} epochs")
        histories[name] = fit(ctx, _relu_mlp(ctx, pixels, hidden), dataset, name, cost="log_likelihood", lr=lr,
                              batch_size=batch, epochs=epochs, train_subset=n_train,
                              lr_schedule=_warmup_then_decay(lr, epochs) if schedule else None)

    final = {name: h.final("test_accuracy") for name, h in histories.items()}
    ctx.report("test accuracy, lr 0.01, mini-batch 64 / 256 / 1024", "larger batches fall behind",
               " / ".join(f"{percent(final[f'batch_{b}_lr_0.01']):.2f}%" for b in BATCH_SIZES), data=data)
    ctx.report("training loss, lr 0.01, mini-batch 64 / 256 / 1024", "larger batches fall behind",
               " / ".join(f"{histories[f'batch_{b}_lr_0.01'].final('train_cost'):.3f}" for b in BATCH_SIZES),
               data=data)
    ctx.report("batch 1024: lr 0.01 -> lr 0.1 (vs batch 64 at lr 0.01)", "lr 0.1 recovers",
               f"{percent(final['batch_1024_lr_0.01']):.2f}% -> {percent(final['batch_1024_lr_0.1']):.2f}% "
               f"(batch 64: {percent(final['batch_64_lr_0.01']):.2f}%)", data=data)
    scheduled = histories["batch_1024_lr_0.1_schedule"]
    ctx.report("batch 1024, lr 0.1 with warm-up then decay: lr per epoch; test accuracy", "the schedule runs",
               f"{', '.join(f'{v:.3g}' for v in scheduled.lr)}; {percent(scheduled.final('test_accuracy')):.2f}%",
               data=data)
    _plot_training(ctx, dataset.name, histories)

    previous = torch.get_num_threads()
    torch.set_num_threads(training_threads(max(BATCH_SIZES), ctx.device))  # as the trainer does
    try:
        _gradient_noise(ctx, dataset, pixels, n_train, hidden)
    finally:
        torch.set_num_threads(previous)


def _warmup_then_decay(peak: float, epochs: int):
    """Linear warm-up from peak/10 over the first tenth of the epochs (at least one), peak until
    two thirds of the run, then peak/10."""
    warm = max(1, epochs // 10)

    def schedule(epoch: int, history) -> float:
        if epoch < warm:
            return peak / 10 + (peak - peak / 10) * epoch / warm
        return peak if epoch < math.ceil(2 * epochs / 3) else peak / 10

    return schedule


def _gradient_noise(ctx, dataset, pixels: int, n_train: int | None, hidden: int) -> None:
    """Norms of mini-batch gradients at initialisation, over many random mini-batches."""
    sizes = setting(ctx, "gradient_batches", (8, 32, 128, 512, 2048), (8, 32, 128, 512))
    samples = setting(ctx, "gradient_samples", 32, 8)
    n = train_size(dataset, n_train)
    images = torch.as_tensor(dataset.train[0][:n], device=ctx.device)
    labels = torch.as_tensor(dataset.train[1][:n], device=ctx.device)
    model = _relu_mlp(ctx, pixels, hidden)
    params = list(model.parameters())

    def mean_gradient(index: torch.Tensor) -> torch.Tensor:
        loss = cost_function("log_likelihood", model(images[index]), labels[index])
        return torch.cat([g.flatten() for g in torch.autograd.grad(loss, params)])

    full = torch.zeros(sum(p.numel() for p in params), device=ctx.device)
    for start in range(0, n, 1024):  # the gradient over the whole training set, in pieces
        index = torch.arange(start, min(start + 1024, n), device=ctx.device)
        full += mean_gradient(index) * len(index) / n
    generator = torch.Generator().manual_seed(ctx.seed)
    mean_norm, sum_norm, noise_norm = [], [], []
    for batch in sizes:
        means = [mean_gradient(torch.randint(0, n, (batch,), generator=generator).to(ctx.device))
                 for _ in range(samples)]
        mean_norm.append(float(np.mean([g.norm().item() for g in means])))
        sum_norm.append(batch * mean_norm[-1])
        noise_norm.append(float(np.sqrt(np.mean([(g - full).norm().item() ** 2 for g in means]))))
    signal = full.norm().item()
    snr = [signal / noise for noise in noise_norm]
    mean_norm, sum_norm, noise_norm, snr = (np.asarray(v) for v in (mean_norm, sum_norm, noise_norm, snr))
    logs = np.log(np.asarray(sizes, dtype=float))

    def slope(values, part=slice(None)):
        return float(np.polyfit(logs[part], np.log(values[part]), 1)[0])

    data = (f"{dataset.name}: {n:,} train images, 2x{hidden} ReLU at initialisation, {samples} mini-batches per size "
            "(drawn with replacement)")
    label = "B = " + " / ".join(map(str, sizes))
    ctx.report(f"|sum of B per-example gradients|, {label}; log-log slope", "grows like sqrt(B) (slope 0.5)",
               f"{' / '.join(f'{v:.3g}' for v in sum_norm)}; slope {slope(sum_norm):.2f} "
               f"(small B: {slope(sum_norm, slice(0, 2)):.2f}, large B: {slope(sum_norm, slice(-2, None)):.2f})", data=data)
    ctx.report(f"signal-to-noise |G| / |g_B - G|, {label}; log-log slope", "grows like sqrt(B) (slope 0.5)",
               f"{' / '.join(f'{v:.3g}' for v in snr)}; slope {slope(snr):.2f}", data=data,
               matches=abs(slope(snr) - 0.5) < 0.1)
    ctx.report(f"|mean mini-batch gradient| (the SGD step direction), {label}", "(falls towards |G| as B grows)",
               f"{' / '.join(f'{v:.3g}' for v in mean_norm)}; |G| = {signal:.3g}", data=data)
    ctx.say("The mean gradient's norm falls with B (its noise shrinks like 1/sqrt(B)); the sum's norm grows like "
            "sqrt(B) while noise dominates and like B once the true gradient does; the signal-to-noise ratio "
            "grows like sqrt(B).")

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.loglog(sizes, sum_norm, "o-", label="|sum of gradients|")
    ax.loglog(sizes, mean_norm, "s-", label="|mean gradient|")
    ax.loglog(sizes, noise_norm, "^-", label="|mean - full gradient| (noise)")
    ax.loglog(sizes, snr, "d-", label="signal / noise")
    reference = np.asarray(sizes, dtype=float)
    ax.loglog(sizes, snr[0] * np.sqrt(reference / reference[0]), "k:", label="sqrt(B)")
    ax.set(xlabel="mini-batch size B", title=f"mini-batch gradients ({dataset.name})")
    ax.legend(fontsize=8)
    ctx.plot("gradient_vs_batch_size", fig)
    plt.close(fig)


def _plot_training(ctx, data_name: str, histories: dict) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for name, history in histories.items():
        axis = range(1, history.epochs + 1)
        axes[0].plot(axis, history.train_cost, marker=".", label=name)
        axes[1].plot(axis, [100 * a for a in history.test_accuracy], marker=".", label=name)
    axes[0].set(xlabel="epoch", ylabel="training loss", yscale="log", title=f"batch size and lr ({data_name})")
    axes[1].set(xlabel="epoch", ylabel="test accuracy (%)")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    ctx.plot("batch_size_training", fig)
    plt.close(fig)
