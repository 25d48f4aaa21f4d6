"""Chapter 29: choosing the mini-batch size.

With mini-batches of one image (online learning) every example moves the weights, but each
update pays the full price of a Python step and a tiny matrix product. With larger mini-batches
the matrix library computes many examples at once, so an epoch takes far less time, but there
are fewer updates per epoch. The size hardly interacts with the other hyper-parameters, so the
book's advice is: fix the rest, try several sizes, and plot validation accuracy against real
elapsed time (not epochs), then pick the size that improves fastest.

The run: [784, 30, 10], cross-entropy, eta = 0.5 for every size, each size trained for the same
budget of training seconds (evaluation time excluded).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from lab.i18n import decimal, number, tr
from supervised.demos import Setting, register
from supervised.demos._training import describe, fit, mlp, percent, setting, train_size


@register("ch29", "Definindo o Tamanho do Mini-Batch", "Choosing the mini-batch size",
          settings=(Setting("train_size", None, 3_000, kind=int, low=100), Setting("seconds", 60.0, 2.5, above=0.0)))
def demo(ctx) -> None:
    dataset = ctx.dataset()
    pixels = dataset.input_size
    n_train = setting(ctx, "train_size")
    budget = setting(ctx, "seconds")
    sizes = (1, 10, 20, 50, 100) if not ctx.quick else (1, 10, 100)
    n = train_size(dataset, n_train)
    data = describe(dataset, n_train, tr("{budget:g} s of training per size").format(budget=budget))
    shown_sizes = " / ".join(map(str, sizes))

    histories = {}
    for batch in sizes:
        ctx.say(tr("mini-batch {batch}: training for {budget:g} s").format(batch=batch, budget=budget))
        model = mlp(ctx, [pixels, 30, 10], init="scaled")
        histories[batch] = fit(ctx, model, dataset, f"batch_{batch}", cost="cross_entropy", lr=0.5,
                               batch_size=batch, epochs=10_000, train_subset=n_train,
                               eval_sets=("validation",),
                               callback=lambda epoch, history, model: history.elapsed_seconds[-1] >= budget)

    per_epoch = {b: float(np.mean(h.epoch_seconds)) for b, h in histories.items()}
    ctx.report(tr("seconds per epoch over {images:,} images, mini-batch {sizes}").format(images=n, sizes=shown_sizes),
               tr("larger mini-batches: much less time per epoch"),
               " / ".join(decimal(f"{per_epoch[b]:.3f}") for b in sizes), data=data,
               matches=all(per_epoch[a] > per_epoch[b] for a, b in zip(sizes, sizes[1:])),
               reason=tr("a larger mini-batch did not take less time per epoch here"))
    ctx.report(tr("updates per second, mini-batch {sizes}").format(sizes=shown_sizes),
               tr("n/a (no figure in the book)"),
               " / ".join(number(-(-n // b) / per_epoch[b], 0) for b in sizes), data=data,
               reason=tr("the book gives no rate; measured on this machine"))
    halfway = budget / 2
    ctx.report(tr("validation accuracy after {half:g} s / {budget:g} s of training, mini-batch {sizes}").format(
                   half=halfway, budget=budget, sizes=shown_sizes),
               tr("pick the size that improves fastest in time"),
               " / ".join(f"{_shown(_accuracy_at(histories[b], halfway))}->"
                          f"{_shown(histories[b].validation_accuracy[-1])}" for b in sizes), data=data,
               reason=tr("the book only describes the method; timings depend on the machine"))
    fastest = max(sizes, key=lambda b: _accuracy_at(histories[b], halfway) or 0.0)
    ctx.report(tr("fastest-improving mini-batch size at {half:g} s").format(half=halfway),
               tr("depends on the hardware; measure"), fastest, data=data,
               reason=tr("the book only says to measure it on one's own hardware"))

    fig, ax = plt.subplots(figsize=(6, 4))
    for batch, history in histories.items():
        ax.plot(history.elapsed_seconds, [100 * a for a in history.validation_accuracy], marker=".",
                label=tr("mini-batch {batch}").format(batch=batch))
    ax.set(xlabel=tr("training time (s)"), ylabel=tr("validation accuracy (%)"),
           title=tr("mini-batch size vs wall-clock ({data})").format(data=dataset.name))
    ax.legend()
    ctx.plot("validation_vs_time", fig)
    plt.close(fig)


def _accuracy_at(history, seconds: float) -> float | None:
    """Validation accuracy of the last epoch finished by `seconds` of training (None if none was)."""
    done = [a for t, a in zip(history.elapsed_seconds, history.validation_accuracy) if t <= seconds]
    return done[-1] if done else None


def _shown(fraction: float | None) -> str:
    return tr("no epoch yet") if fraction is None else decimal(f"{percent(fraction):.1f}%")
