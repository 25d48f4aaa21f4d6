"""Chapters 60-61 (Variational Autoencoders; A Matemática dos VAEs): PCA against a linear
autoencoder, then the VAE, its loss C * ||x - f(z)||^2 + KL and the trade C controls.

1. PCA and the linear autoencoder (ch060.md:51-66). PCA projects the data on the span of the
   top eigenvectors of the covariance, the linear subspace with the least approximation error;
   a linear autoencoder (one layer, no nonlinearity) trained by gradient descent looks for the
   best linear subspace too, so its decoder spans "the same optimal subspace", but in a basis
   that need not be orthogonal. Measured: the principal angles between the PCA subspace and
   the span of the decoder's columns (scipy.linalg.subspace_angles), both held-out errors, and
   the largest cosine between two decoder columns.
2. The VAE (ch061.md:98-134): the encoder gives q_x(z) = N(g(x), diag(h(x))), z is sampled by
   the reparameterisation trick, the decoder gives f(z), and the loss is
   C * ||x - f(z)||^2 + KL(q_x(z) || N(0, I)) with C = 1/(2c), c the variance the decoder's
   Gaussian p(x | z) assumes (`nets.build("vae")`, its `loss`). A sweep of C shows the trade of
   ch061.md:92: a large C (small c) buys sharp reconstructions with encodings of small variance
   and far-apart means (ch060.md:138), a small C a latent space close to N(0, I) (ch060.md:141)
   at the price of blurred reconstructions. Regularity is measured as KL(N(m, S) || N(0, I)) for
   the moments m, S of the aggregate of the encodings over the held-out digits (0 when the codes
   fill the prior as the decoder will be asked to read them).
   The objective is a lower bound (the ELBO): log p(x) = ELBO + KL(q_x || p(z | x)), and the
   book's q_x only approximates the intractable posterior (ch061.md:35, :53). p(x) itself is
   estimated by importance sampling with q_x as the proposal, log (1/K) sum_k p(x | z_k) p(z_k)
   / q_x(z_k) (Burda et al. 2016; itself below log p(x) for finite K, so the gap it shows is
   the least the true one can be), for p(x | z) = N(f(z), c I) with c = 1/(2C), beside an ELBO
   estimated from other draws.
3. A 2-D latent space (ch060.md:147): the codes of held-out digits coloured by digit, the decoder
   read on a grid of the prior's quantiles, and straight paths between two codes; a point halfway
   between two codes should decode to something between the two decoded images.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import scipy.linalg
import torch

import nets
from lab.config import ConfigError
from lab.i18n import N_, decimal, tr
from nets.generative import gaussian_kl
from supervised.demos import Setting, register
from supervised.demos._autoencoding import as_rgb, fit_unsupervised, squared_error, tile
from supervised.demos._training import describe, setting

#: The book's claims, in the project's words (the `livro:` side of the figure lines).
BOOK_SAME_SUBSPACE = N_("the linear autoencoder finds the same optimal subspace as PCA")  # ch060.md:66
BOOK_PCA_MINIMUM = N_("PCA: the subspace of minimum approximation error")  # ch060.md:54
BOOK_NOT_ORTHOGONAL = N_("unlike PCA, no orthogonality constraint on the new features")  # ch060.md:66
BOOK_C = "C = 1 / (2c)"  # ch061.md:134
BOOK_TRADE = N_("larger c (smaller C) favours the regularisation term over the reconstruction term")  # ch061.md:92
BOOK_POINT_LIKE = N_("without regularisation: small variances or far-apart means")  # ch060.md:138
BOOK_NEAR_PRIOR = N_("regularised encodings close to a standard normal")  # ch060.md:141
BOOK_APPROXIMATE_POSTERIOR = N_("q_x(z) approximates the intractable p(z | x): the objective is a lower "
                                "bound of log p(x)")  # ch061.md:35, ch061.md:53
BOOK_BETWEEN = N_("a point halfway between two codes decodes to something between them")  # ch060.md:147
#: Held-out images and draws of z per image for the importance-sampling estimate of log p(x)
#: (the smaller count shows how far the estimate still moves with more draws).
EVIDENCE_IMAGES, EVIDENCE_DRAWS = 100, (100, 1000)
#: Largest principal angle (degrees) at which two subspaces count as "the same" here.
ANGLE_MATCH_DEGREES = 5.0
#: Relative gap of held-out errors under which the autoencoder counts as reaching PCA's.
ERROR_MATCH = 0.02


# -- 1. PCA and the linear autoencoder -------------------------------------------------------------


def pca(images: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(mean, the top-k principal directions as rows (k, D), all eigenvalues of the covariance)."""
    mean = images.mean(0)
    _, singular, vt = torch.linalg.svd(images - mean, full_matrices=False)
    return mean, vt[:k], singular ** 2 / len(images)


def pca_error(images: torch.Tensor, mean: torch.Tensor, directions: torch.Tensor) -> float:
    """Mean over images of ||x - (m + P P^T (x - m))||^2."""
    centred = images - mean
    residual = centred - centred @ directions.T @ directions
    return float((residual ** 2).sum(1).mean())


def principal_angles_degrees(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Principal angles between the column spaces of a and b, largest first, in degrees."""
    return np.degrees(scipy.linalg.subspace_angles(np.asarray(a, np.float64), np.asarray(b, np.float64)))


def largest_cosine(columns: np.ndarray) -> float:
    """The largest |cos| between two different columns (0 for an orthogonal basis)."""
    unit = columns / np.linalg.norm(columns, axis=0, keepdims=True)
    gram = np.abs(unit.T @ unit)
    np.fill_diagonal(gram, 0.0)
    return float(gram.max())


def _squared_error_loss(model, batch, generator):
    return ((model(batch) - batch) ** 2).sum(1).mean(), {}


def train_linear_autoencoder(images: torch.Tensor, k: int, *, epochs: int, seed: int, logger=None) -> torch.nn.Module:
    """784 -> k -> 784 with no nonlinearity (the book's linear autoencoder), Adam on the squared error."""
    torch.manual_seed(seed)
    model = nets.build("autoencoder", input_size=images.shape[1], hidden_sizes=[k],
                       activation="identity", output_activation="identity")
    fit_unsupervised(model, images, _squared_error_loss, epochs=epochs, batch=256, lr=1e-2, seed=seed,
                     lr_drops=(0.7, 0.9), logger=logger, tag="linear_autoencoder")
    return model


def decoder_columns(model: torch.nn.Module) -> np.ndarray:
    """(D, k): the directions the linear decoder maps the k code units to."""
    return model.decoder[0].weight.detach().numpy()


# -- 2. The VAE and the sweep of C -----------------------------------------------------------------


def train_vae(images: torch.Tensor, C: float, *, latent: int, epochs: int, seed: int, logger=None,
              tag: str = "vae") -> torch.nn.Module:
    """The VAE of `nets` (784 -> 256 -> (g, ln h) -> z -> 256 -> 784) on the book's loss with this C."""
    torch.manual_seed(seed)
    model = nets.build("vae", input_size=images.shape[1], hidden_sizes=[256], latent_size=latent)

    def vae_loss(vae, batch, generator):
        total, error, kl = vae.loss(batch, C=C)
        return total, {"squared_error": error.item(), "kl": kl.item()}

    fit_unsupervised(model, images, vae_loss, epochs=epochs, batch=64, lr=1e-3, seed=seed, logger=logger, tag=tag)
    return model


def aggregate_kl(mu: torch.Tensor, logvar: torch.Tensor) -> float:
    """KL(N(m, S) || N(0, I)) for the mean m and covariance S of the mixture of the encodings
    q_x(z) = N(mu_x, diag(exp(logvar_x))) over the images: S = cov(mu) + mean(diag(exp(logvar)))."""
    mu, logvar = mu.double(), logvar.double()
    m = mu.mean(0)
    spread = torch.cov(mu.T).reshape(len(m), len(m)) if len(mu) > 1 else torch.zeros(len(m), len(m))
    covariance = spread + torch.diag(logvar.exp().mean(0))
    return float(0.5 * (torch.trace(covariance) + m @ m - len(m) - torch.logdet(covariance)))


@dataclasses.dataclass(frozen=True)
class LatentReport:
    """How a trained VAE encodes held-out images (eval mode: f(g(x)) for the reconstruction)."""

    squared_error: float       # mean ||x - f(g(x))||^2
    kl: float                  # mean KL(q_x || N(0, I)), the loss's regularisation term
    mean_sigma: float          # mean of sqrt(h(x)): how point-like the encodings are
    mean_spread: float         # std of g(x) over the images, averaged over the latent axes
    aggregate_kl: float        # see aggregate_kl


def latent_report(model: torch.nn.Module, images: torch.Tensor) -> LatentReport:
    model.eval()
    with torch.no_grad():
        reconstruction, mu, logvar = model.encode_decode(images)
    return LatentReport(
        squared_error=float(((images - reconstruction) ** 2).sum(1).mean()),
        kl=float(gaussian_kl(mu, logvar).mean()),
        mean_sigma=float(torch.exp(0.5 * logvar).mean()),
        mean_spread=float(mu.std(0).mean()),
        aggregate_kl=aggregate_kl(mu, logvar))


def log_weights(model: torch.nn.Module, images: torch.Tensor, C: float, draws: int, generator: torch.Generator
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """For `draws` z_k ~ q_x per image, (ln p(x | z_k), ln p(x | z_k) + ln p(z_k) - ln q_x(z_k)),
    each (draws, images), with p(x | z) = N(f(z), c I), c = 1/(2C): ln p(x | z) = -C ||x - f(z)||^2
    - (D/2) ln(pi / C)."""
    model.eval()
    with torch.no_grad():
        mu, logvar = model.encode(images)
        std = (0.5 * logvar).exp()
        z = mu + std * torch.randn((draws, *mu.shape), generator=generator)
        log_likelihood = -C * ((images - model.decode(z)) ** 2).sum(-1) \
            - 0.5 * images.shape[1] * math.log(math.pi / C)
        log_prior = torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(-1)
        log_q = torch.distributions.Normal(mu, std).log_prob(z).sum(-1)
    return log_likelihood, log_likelihood + log_prior - log_q


def evidence_and_bound(model: torch.nn.Module, images: torch.Tensor, C: float, seed: int,
                       draws: tuple[int, ...] = EVIDENCE_DRAWS) -> tuple[torch.Tensor, dict[int, torch.Tensor]]:
    """Per image, the ELBO E_q[ln p(x | z)] - KL(q_x || N(0, I)) (closed-form KL, draws[-1]
    draws) and, from fresh draws, the importance-sampling estimate of ln p(x) for each count in
    `draws`."""
    generator = torch.Generator().manual_seed(seed)
    log_likelihood, _ = log_weights(model, images, C, draws[-1], generator)
    with torch.no_grad():
        mu, logvar = model.encode(images)
        elbo = log_likelihood.mean(0) - gaussian_kl(mu, logvar)
    evidence = {}
    for count in draws:
        _, weights = log_weights(model, images, C, count, generator)
        evidence[count] = torch.logsumexp(weights, 0) - math.log(count)
    return elbo, evidence


def strictly_monotone(values: list[float], increasing: bool) -> bool:
    steps = np.diff(values)
    return bool(np.all(steps > 0) if increasing else np.all(steps < 0))


# -- 3. The 2-D latent space -----------------------------------------------------------------------


def random_pairs_of_different_digits(labels: np.ndarray, n: int, seed: int) -> np.ndarray:
    """n index pairs (i, j) of held-out images whose digits differ."""
    rng = np.random.default_rng(seed)
    pairs: list[tuple[int, int]] = []
    while len(pairs) < n:
        i, j = rng.integers(0, len(labels), size=2)
        if labels[i] != labels[j]:
            pairs.append((int(i), int(j)))
    return np.array(pairs)


def midpoints_between(model: torch.nn.Module, images: torch.Tensor, pairs: np.ndarray) -> float:
    """Fraction of pairs (a, b) for which f((g(a) + g(b)) / 2) is nearer to each of f(g(a)) and
    f(g(b)) than these two are to each other: the halfway code decodes to something between."""
    model.eval()
    with torch.no_grad():
        codes = model.encode(images)[0]
        a, b = codes[pairs[:, 0]], codes[pairs[:, 1]]
        end_a, end_b, middle = model.decode(a), model.decode(b), model.decode((a + b) / 2)
    apart = (end_a - end_b).norm(dim=1)
    between = ((middle - end_a).norm(dim=1) < apart) & ((middle - end_b).norm(dim=1) < apart)
    return float(between.float().mean())


def prior_grid(model: torch.nn.Module, size: int) -> torch.Tensor:
    """Decode z on a size x size grid of the N(0, 1) quantiles 5%..95% of a 2-D latent space."""
    from scipy import stats

    q = torch.tensor(stats.norm.ppf(np.linspace(0.05, 0.95, size)), dtype=torch.float32)
    z = torch.stack(torch.meshgrid(q, q.flip(0), indexing="xy"), dim=-1).reshape(-1, 2)
    with torch.no_grad():
        return model.decode(z)


def interpolations(model: torch.nn.Module, images: torch.Tensor, pairs: np.ndarray, steps: int) -> torch.Tensor:
    """Per pair, `steps` decoded points on the straight path from g(a) to g(b) (rows of steps)."""
    with torch.no_grad():
        codes = model.encode(images)[0]
        t = torch.linspace(0, 1, steps).unsqueeze(1)
        paths = [codes[i] * (1 - t) + codes[j] * t for i, j in pairs]
        return model.decode(torch.cat(paths))


# -- the demo ---------------------------------------------------------------------------------------


def _a_sweep(values: dict) -> None:
    if len(values["C"]) < 2:
        raise ConfigError(tr("--set C={values}: demo ch60 needs at least two values of C to compare").format(
            values=list(values["C"])))


@register("ch60", "Variational Autoencoders (VAEs) – Definição, Redução de Dimensionalidade, Espaço Latente "
                  "e Regularização; A Matemática dos VAEs (cap. 61)",
          "PCA vs a linear autoencoder, the VAE's loss C*||x - f(z)||^2 + KL and the trade C controls",
          settings=(Setting("pca_dims", 6, low=1),
                    Setting("linear_epochs", 110, 90, low=1),
                    Setting("epochs", 30, 4, low=1),
                    Setting("C", (0.1, 1.0, 10.0, 100.0), above=0.0),
                    Setting("latent", 8, low=1),
                    Setting("scatter_C", 3.0, above=0.0)),
          check=_a_sweep,
          covers=("ch61",))
def demo(ctx) -> None:
    torch.set_num_threads(1)
    k = setting(ctx, "pca_dims")
    linear_epochs = setting(ctx, "linear_epochs")
    epochs = setting(ctx, "epochs")
    sweep = setting(ctx, "C")
    latent = setting(ctx, "latent")
    scatter_c = setting(ctx, "scatter_C")
    sweep = tuple(sorted(sweep))
    dataset = ctx.dataset()
    train = torch.tensor(dataset.train[0]).flatten(1)
    test, test_labels = torch.tensor(dataset.test[0]).flatten(1), dataset.test[1]
    if k >= train.shape[1]:
        raise ConfigError(tr("--set pca_dims={k}: must be below the {pixels} pixels of an image").format(
            k=k, pixels=train.shape[1]))
    data = describe(dataset)

    # 1. PCA vs the linear autoencoder.
    mean, directions, eigenvalues = pca(train, k)
    linear = train_linear_autoencoder(train, k, epochs=linear_epochs, seed=ctx.seed, logger=ctx.logger)
    columns = decoder_columns(linear)
    angles = principal_angles_degrees(columns, directions.T.numpy())
    linear_data = tr("{data}; {k} components (eigenvalues {last:.2f} then {next:.2f}), autoencoder {d}-{k}-{d} "
                     "without nonlinearity, {epochs} epochs of Adam").format(
        data=data, k=k, last=float(eigenvalues[k - 1]), next=float(eigenvalues[k]), d=train.shape[1],
        epochs=linear_epochs)
    largest = float(angles.max())
    ok = largest < ANGLE_MATCH_DEGREES
    ctx.report(tr("principal angles between the PCA subspace and the linear autoencoder's (degrees)"),
               tr(BOOK_SAME_SUBSPACE), tuple(round(float(a), 2) for a in angles), data=linear_data, matches=ok,
               reason="" if ok else tr("largest angle {largest:.1f} >= {limit} degrees").format(
                   largest=largest, limit=ANGLE_MATCH_DEGREES))
    error_pca, error_linear = pca_error(test, mean, directions), squared_error(linear, test)
    gap = error_linear / error_pca - 1.0
    ok = abs(gap) < ERROR_MATCH
    ctx.report(tr("held-out squared error per image: linear autoencoder vs PCA"), tr(BOOK_PCA_MINIMUM),
               tr("autoencoder {linear:.2f}, PCA {pca:.2f} ({gap}%)").format(
                   linear=error_linear, pca=error_pca, gap=decimal(f"{100 * gap:+.1f}")), data=linear_data,
               matches=ok, reason="" if ok else tr("the autoencoder is {gap} from PCA (tolerance {tolerance})").format(
                   gap=decimal(f"{100 * gap:+.1f}%"), tolerance=f"{100 * ERROR_MATCH:.0f}%"))
    cosine = largest_cosine(columns)
    pca_cosine = largest_cosine(directions.T.numpy())
    ok = cosine > 0.05 > pca_cosine
    ctx.report(tr("largest |cos| between two feature directions: the linear autoencoder's, PCA's"),
               tr(BOOK_NOT_ORTHOGONAL), tr("autoencoder {linear:.3f}, PCA {pca:.1e}").format(linear=cosine, pca=pca_cosine),
               data=linear_data, matches=ok,
               reason="" if ok else tr("this autoencoder's directions came out nearly orthogonal"))
    ctx.logger.scalars(0, {"ch60/largest_principal_angle": largest, "ch60/linear_ae_error": error_linear,
                           "ch60/pca_error": error_pca})
    ctx.plot("pca_vs_linear_autoencoder", _pca_figure(directions, columns, angles, test, mean, linear))

    # 2. The VAE's trade between reconstruction and regularity.
    c_of = {C: 1.0 / (2.0 * C) for C in sweep}
    models = {C: train_vae(train, C, latent=latent, epochs=epochs, seed=ctx.seed, logger=ctx.logger,
                           tag=f"vae_C{C:g}") for C in sweep}
    reports = {C: latent_report(models[C], test) for C in sweep}
    pairs = random_pairs_of_different_digits(test_labels, 300, ctx.seed)
    sweep_data = tr("{data}; VAE 784-256-{latent}, {epochs} epochs per C; {relation}: {values}").format(
        data=data, latent=latent, epochs=epochs, relation=BOOK_C,
        values=", ".join(tr("C={C:g} (c={c:.3g})").format(C=C, c=c_of[C]) for C in sweep))
    ctx.table("vae_C_sweep", ["C", "c = 1/(2C)", tr("held-out ||x - f(g(x))||^2"), "KL(q_x || N(0,I))",
                              tr("mean sigma"), tr("spread of means"), tr("aggregate KL"),
                              tr("halfway codes between")],
              [[C, c_of[C], r.squared_error, r.kl, r.mean_sigma, r.mean_spread, r.aggregate_kl,
                midpoints_between(models[C], test, pairs)] for C, r in reports.items()])
    for C, r in reports.items():
        ctx.logger.scalars(0, {f"ch60/C{C:g}/held_out_squared_error": r.squared_error, f"ch60/C{C:g}/kl": r.kl,
                               f"ch60/C{C:g}/aggregate_kl": r.aggregate_kl})
    errors = [reports[C].squared_error for C in sweep]
    ok = strictly_monotone(errors, increasing=False)
    ctx.report(tr("held-out reconstruction error for C = {values}").format(values=_values_of_c(sweep)), tr(BOOK_TRADE),
               tuple(round(e, 2) for e in errors), data=sweep_data, matches=ok,
               reason="" if ok else tr("the error does not fall at every step up in C"))
    # The KL term the loss uses is the closed form of nets.generative.gaussian_kl; check it on
    # the trained encoder against a Monte Carlo estimate E_q[ln q(z) - ln p(z)] (2,000 draws).
    with torch.no_grad():
        mu, logvar = models[sweep[-1]].encode(test[:200])
        draws = torch.Generator().manual_seed(ctx.seed + 5)
        std = (0.5 * logvar).exp()
        z = mu + std * torch.randn((2000, *mu.shape), generator=draws)
        log_q = torch.distributions.Normal(mu, std).log_prob(z).sum(-1)
        log_p = torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(-1)
        monte_carlo = float((log_q - log_p).mean())
        closed = float(gaussian_kl(mu, logvar).mean())
    close = abs(monte_carlo / closed - 1) < 0.02
    ctx.report(tr("KL(q_x || N(0, I)) on 200 held-out digits, C = {C:g}: closed form vs Monte Carlo "
                  "(2,000 draws of z each)").format(C=sweep[-1]), tr("1/2 sum(sigma^2 + mu^2 - 1 - ln sigma^2)"),
               tr("{closed:.3f} vs {sampled:.3f}").format(closed=closed, sampled=monte_carlo), data=sweep_data,
               matches=close, source=tr("Kingma & Welling 2014, Appendix B"),
               reason="" if close else tr("the closed form and the sampled KL differ by {tolerance} or more").format(tolerance="2%"))
    bound_c = sweep[-1]
    elbo, evidence = evidence_and_bound(models[bound_c], test[:EVIDENCE_IMAGES], bound_c, ctx.seed + 6)
    few, many = EVIDENCE_DRAWS[0], EVIDENCE_DRAWS[-1]
    gap = evidence[many] - elbo
    gap_mean, gap_noise = float(gap.mean()), float(2 * gap.std() / math.sqrt(len(gap)))
    below = gap_mean > gap_noise
    ctx.report(tr("ELBO vs ln p(x) by importance sampling ({few:,} / {many:,} draws), mean over {n} held-out "
                  "digits, C = {C:g}").format(few=few, many=many, n=len(gap), C=bound_c), tr(BOOK_APPROXIMATE_POSTERIOR),
               tr("ELBO {elbo:.1f}, ln p(x) {few:.1f} / {many:.1f}: gap {gap:.1f} +- {noise:.1f} nats, ELBO below "
                  "on {share} of the digits").format(
                   elbo=float(elbo.mean()), few=float(evidence[few].mean()), many=float(evidence[many].mean()),
                   gap=gap_mean, noise=gap_noise, share=f"{100 * float((gap > 0).float().mean()):.0f}%"),
               data=sweep_data, matches=below,
               reason="" if below else tr("the importance-sampled ln p(x) is not above the ELBO by two standard errors"))
    ctx.logger.scalars(0, {"ch61/elbo": float(elbo.mean()), "ch61/log_evidence": float(evidence[many].mean())})
    kls = [reports[C].kl for C in sweep]
    ok = strictly_monotone(kls, increasing=True)
    ctx.report(tr("KL term for the same C values"), tr(BOOK_TRADE), tuple(round(v, 2) for v in kls), data=sweep_data,
               matches=ok, reason="" if ok else tr("the KL term does not rise at every step up in C"))
    sigmas = [reports[C].mean_sigma for C in sweep]
    spreads = [reports[C].mean_spread for C in sweep]
    ok = strictly_monotone(sigmas, increasing=False) and strictly_monotone(spreads, increasing=True)
    ctx.report(tr("encodings' mean sigma / spread of their means, same C values"), tr(BOOK_POINT_LIKE),
               " / ".join(decimal(f"{s:.3f}") for s in sigmas) + " | " + " / ".join(decimal(f"{s:.2f}") for s in spreads),
               data=sweep_data, matches=ok,
               reason="" if ok else tr("sigma does not fall, or the spread does not grow, at every step up in C"))
    aggregates = [reports[C].aggregate_kl for C in sweep]
    ok = strictly_monotone(aggregates, increasing=True)
    ctx.report(tr("KL of the encodings' aggregate to N(0, I), same C values"), tr(BOOK_NEAR_PRIOR),
               tuple(round(v, 3) for v in aggregates), data=sweep_data, matches=ok,
               reason="" if ok else tr("the aggregate does not move away from N(0, I) at every step up in C"))
    ctx.plot("vae_C_sweep", _sweep_figure(models, reports, test, ctx.seed))

    # 3. A 2-D latent space.
    flat = train_vae(train, scatter_c, latent=2, epochs=epochs, seed=ctx.seed, logger=ctx.logger, tag="vae_2d")
    fraction = midpoints_between(flat, test, pairs)
    flat_data = tr("{data}; VAE 784-256-2, C={C:g}, {epochs} epochs; 300 pairs of held-out digits that differ").format(
        data=data, C=scatter_c, epochs=epochs)
    ok = fraction >= 0.9
    share = decimal(f"{100 * fraction:.1f}%")
    ctx.report(tr("pairs whose halfway code decodes nearer to both ends than they are to each other"), tr(BOOK_BETWEEN),
               share, data=flat_data, matches=ok,
               reason="" if ok else tr("{share} < {least} of the pairs").format(share=share, least="90%"))
    ctx.logger.scalars(0, {"ch60/vae_2d/halfway_between": fraction})
    with torch.no_grad():
        codes = flat.encode(test)[0].numpy()
    ctx.plot("vae_latent_scatter", _scatter_figure(codes, test_labels, scatter_c))
    grid = tile(prior_grid(flat, 15), 15)
    ctx.logger.image("images/vae_latent_grid", as_rgb(grid))
    ctx.plot("vae_latent_grid", _picture_figure(grid, tr("decoder f(z) on a 15 x 15 grid of N(0, I) quantiles "
                                                         "(2-D VAE, C={C:g})").format(C=scatter_c)))
    shown = pairs[:8]
    decoded = interpolations(flat, test, shown, 10).split(10)
    rows = [torch.cat([test[i:i + 1], path, test[j:j + 1]]) for (i, j), path in zip(shown, decoded)]
    paths = tile(torch.cat(rows), 12)
    ctx.logger.image("images/vae_interpolation", as_rgb(paths))
    ctx.plot("vae_interpolation", _picture_figure(paths, tr("held-out digit a, f on the straight path g(a) -> g(b) "
                                                            "in the 2-D latent space, digit b (a pair a row)")))


def _values_of_c(sweep) -> str:
    """'0.1, 1, 10, 100' in the output language."""
    return ", ".join(decimal(f"{C:g}") for C in sweep)


def _picture_figure(picture: np.ndarray, title: str, width: float = 7.0):
    from lab.plots import new_figure

    height = width * picture.shape[0] / picture.shape[1]
    fig, ax = new_figure(figsize=(width, height + 0.5))
    ax.imshow(picture, cmap="gray", vmin=0, vmax=1)
    ax.set_title(title, fontsize=9)
    ax.axis("off")
    return fig


def _stretch(images: np.ndarray) -> np.ndarray:
    """Each image scaled to [0, 1] on its own (directions have signs and no fixed range)."""
    low, high = images.min(axis=1, keepdims=True), images.max(axis=1, keepdims=True)
    return (images - low) / np.maximum(high - low, 1e-12)


def _pca_figure(directions, columns, angles, test, mean, linear):
    from lab.plots import new_figure

    k = len(directions)
    fig, axes = new_figure(2, 2, figsize=(11, 4.8), gridspec_kw={"width_ratios": [2.2, 1]})
    axes[0, 0].imshow(tile(_stretch(directions.numpy()), k), cmap="gray")
    axes[0, 0].set_title(tr("PCA: the top {k} principal directions (orthonormal)").format(k=k), fontsize=9)
    axes[1, 0].imshow(tile(_stretch(columns.T), k), cmap="gray")
    axes[1, 0].set_title(tr("linear autoencoder: its decoder's columns (the same span, another basis)"), fontsize=9)
    for ax in axes[:, 0]:
        ax.axis("off")
    axes[0, 1].bar(np.arange(1, k + 1), np.sort(angles), color="tab:blue")
    axes[0, 1].axhline(ANGLE_MATCH_DEGREES, color="k", ls="--", lw=1,
                       label=tr("{limit:g} degrees").format(limit=ANGLE_MATCH_DEGREES))
    axes[0, 1].set(title=tr("principal angles between the subspaces"), xlabel=tr("angle index"), ylabel=tr("degrees"))
    axes[0, 1].legend(fontsize=8)
    centred = test[:6] - mean
    by_pca = mean + centred @ directions.T @ directions
    with torch.no_grad():
        by_linear = linear(test[:6])
    axes[1, 1].imshow(tile(torch.cat([test[:6], by_linear, by_pca]), 6), cmap="gray", vmin=0, vmax=1)
    axes[1, 1].set_title(tr("held-out digits; linear autoencoder; PCA"), fontsize=9)
    axes[1, 1].axis("off")
    fig.tight_layout()
    return fig


def _sweep_figure(models, reports, test, seed):
    from lab.plots import new_figure

    sweep = list(models)
    shown = test[:8]
    prior = torch.Generator().manual_seed(seed + 5)
    rows = [shown]
    with torch.no_grad():
        for C in sweep:
            rows.append(models[C](shown))
        for C in sweep:
            rows.append(models[C].sample(8, generator=prior))
    picture = tile(torch.cat(rows), 8)
    fig, (ax_pictures, ax_curves) = new_figure(1, 2, figsize=(12, 6), gridspec_kw={"width_ratios": [1, 1.1]})
    ax_pictures.imshow(picture, cmap="gray", vmin=0, vmax=1)
    side = int(round(test.shape[1] ** 0.5)) + 1  # the image and the 1-pixel gap of `tile`
    labels = ([tr("held-out")] + [tr("recon. C={C:g}").format(C=C) for C in sweep]
              + [tr("prior C={C:g}").format(C=C) for C in sweep])
    ax_pictures.set_yticks([side * (i + 0.5) for i in range(len(labels))], labels, fontsize=8)
    ax_pictures.set_xticks([])
    ax_pictures.set_title(tr("reconstructions f(g(x)), then decoded draws z ~ N(0, I)"), fontsize=9)
    errors = [reports[C].squared_error for C in sweep]
    ax_curves.plot(sweep, errors, "o-", color="tab:red", label=tr("held-out ||x - f(g(x))||^2"))
    ax_curves.set(xscale="log", xlabel="C = 1/(2c)", ylabel=tr("squared error per image"))
    twin = ax_curves.twinx()
    twin.plot(sweep, [reports[C].kl for C in sweep], "s-", color="tab:blue", label="KL(q_x || N(0, I))")
    twin.plot(sweep, [reports[C].aggregate_kl for C in sweep], "^--", color="tab:green",
              label=tr("KL of the aggregate to N(0, I)"))
    twin.set(ylabel="nats")
    lines = ax_curves.get_lines() + twin.get_lines()
    ax_curves.legend(lines, [line.get_label() for line in lines], fontsize=8, loc="upper center")
    ax_curves.set_title(tr("the trade C controls: sharp reconstructions vs a regular latent space"), fontsize=9)
    fig.tight_layout()
    return fig


def _scatter_figure(codes: np.ndarray, labels: np.ndarray, C: float):
    from lab.plots import new_figure

    fig, ax = new_figure(figsize=(7, 6))
    points = ax.scatter(codes[:, 0], codes[:, 1], c=labels, cmap="tab10", s=9, vmin=-0.5, vmax=9.5)
    fig.colorbar(points, ax=ax, ticks=range(10), label=tr("digit"))
    ax.set(title=tr("2-D VAE (C={C:g}): means g(x) of held-out digits").format(C=C), xlabel="z1", ylabel="z2")
    return fig
