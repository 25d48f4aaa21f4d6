"""Tests for the chapter demos 54-61 (sampling, GANs, autoencoders, the VAE): their functions
compute what the chapters say, and each demo runs in quick mode and writes its figures."""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest
import torch
from demo_checks import one_figure, run_quick
from scipy import stats

import nets
from lab.config import ConfigError
from supervised import demos
from supervised.demos import ch54_dcgan as ch54
from supervised.demos import ch55_sampling as ch55
from supervised.demos import ch56_generative_models as ch56
from supervised.demos import ch57_gan_math as ch57
from supervised.demos import ch58_autoencoders as ch58
from supervised.demos import ch60_vae as ch60

GENERATIVE_DEMOS = ("ch54", "ch55", "ch56", "ch57", "ch58", "ch60")


def _run(key: str, tmp_path, overrides: list[str] | None = None) -> dict[str, dict]:
    return run_quick(key, tmp_path, overrides, data="mnist-subset")


def test_generative_demos_are_registered_with_both_titles():
    listed = {demo.key: demo for demo in demos.available()}
    for key in GENERATIVE_DEMOS:
        assert key in listed, key
        assert listed[key].title_pt and listed[key].title_en


# -- chapter 54: the DCGAN on digits ----------------------------------------------------------------


def test_frechet_distance_of_gaussians():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4000, 3))
    b = rng.normal(size=(4000, 3)) * 2.0 + 1.0  # mean shift 1 per axis, std 2
    exact = 3 * 1.0 + 3 * (1 + 4 - 2 * 2)  # |dm|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2)) = 3 + 3
    assert ch54.frechet_distance(a, b) == pytest.approx(exact, rel=0.1)
    assert ch54.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    dead_unit = np.c_[a, np.zeros(len(a))]  # a singular covariance (a ReLU unit that never fires)
    assert ch54.frechet_distance(dead_unit, dead_unit) == pytest.approx(0.0, abs=1e-6)


def test_dcgan_training_is_seeded_and_keeps_snapshots():
    images = torch.rand(64, 1, 28, 28)
    runs = [ch54.train_dcgan(images, steps=4, batch=8, seed=3, snapshots=3, judge_size=10) for _ in range(2)]
    assert sorted(runs[0].snapshots) == [0, 2, 4]
    assert runs[0].snapshots[4].shape == (64, 1, 28, 28) and runs[0].judged[4].shape == (10, 1, 28, 28)
    assert torch.equal(runs[0].snapshots[4], runs[1].snapshots[4])
    assert not torch.equal(runs[0].snapshots[0], runs[0].snapshots[4])  # the generator moved
    assert len(runs[0].d_real) == 4 and all(0.0 < d < 1.0 for d in runs[0].d_real + runs[0].d_fake)
    trace = ch54.shape_trace(runs[0].generator, torch.randn(2, ch54.LATENT), (torch.nn.ConvTranspose2d,))
    assert trace == [(ch54.LATENT,), (32, 14, 14), (1, 28, 28)]


def test_ch54_runs_writes_sample_grids_and_judges(tmp_path):
    figures = _run("ch54", tmp_path, ["steps=20", "batch=16", "classifier_epochs=1"])
    shapes = figures["shapes through G (noise -> image) and D (image -> probability)"]
    assert shapes["verdict"] == "match" and "1x28x28" in shapes["measured"]
    distances = figures["Fréchet distance of generated to held-out digits in the classifier's features, first -> "
                        "last snapshot"]
    assert distances["verdict"] == "not comparable" and "--quick" in distances["reason"]
    assert len(distances["measured"].split(" -> ")) == 5
    for figure in figures.values():
        assert figure["verdict"] == "match" or figure["reason"]
    for name in ("dcgan_samples_over_training", "dcgan_samples_final", "dcgan_training"):
        assert (tmp_path / "plots" / f"{name}.png").stat().st_size > 0
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(tmp_path), size_guidance={"images": 0}).Reload()
    assert len(events.Images("images/dcgan_samples")) == 5  # one sample grid per snapshot
    with pytest.raises(ConfigError, match="steps"):
        _run("ch54", tmp_path / "bad", ["steps=0"])


@pytest.mark.slow
def test_ch54_generator_comes_close_to_real_digits(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = demos.run("ch54", quick=False, run_dir=str(tmp_path), quiet=True, data="mnist-subset",
                           device="cpu", overrides=["steps=800", "classifier_epochs=3"])
    verdicts = {figure["label"]: figure["verdict"] for figure in result["figures"]}
    assert verdicts["Fréchet distance of generated to held-out digits in the classifier's features, first -> "
                    "last snapshot"] == "match", verdicts


# -- chapter 55: the inverse-transform method ------------------------------------------------------


def test_inverse_cdf_turns_uniform_draws_into_a_gaussian_and_a_die():
    u = np.random.default_rng(0).uniform(size=50_000)
    gaussian = ch55.gaussian_inverse_cdf(u)
    assert stats.kstest(gaussian, "norm").pvalue > 0.01
    assert ch55.ks_distance_continuous(gaussian, stats.norm.cdf) == pytest.approx(
        stats.kstest(gaussian, "norm").statistic, abs=1e-12)
    die = ch55.discrete_inverse_cdf(u, ch55.DIE_FACES, np.full(6, 1 / 6))
    assert set(die.tolist()) == {1, 2, 3, 4, 5, 6}
    assert np.array_equal(die, np.ceil(6 * u).astype(int))  # the generalised inverse of a fair die
    loaded = ch55.discrete_inverse_cdf(u, ch55.DIE_FACES, np.array([0.5, 0.1, 0.1, 0.1, 0.1, 0.1]))
    assert abs((loaded == 1).mean() - 0.5) < 0.01


def test_rejection_sampling_keeps_draws_of_the_mixture_at_the_rate_1_over_m():
    draws, proposed = ch55.rejection_sample(20_000, np.random.default_rng(1))
    assert len(draws) == 20_000
    assert stats.kstest(draws, ch55.mixture_cdf).pvalue > 0.01
    assert stats.kstest(draws, "norm", args=(0, ch55.PROPOSAL_STD)).pvalue < 1e-6  # not the proposal
    assert 20_000 / proposed == pytest.approx(1 / ch55.rejection_bound(), abs=0.01)
    grid = np.linspace(-20, 20, 10_001)
    assert (ch55.mixture_pdf(grid) <= ch55.rejection_bound() * stats.norm.pdf(grid, 0, ch55.PROPOSAL_STD)).all()


def test_metropolis_chains_reach_the_mixture_only_when_run_long_enough():
    rng = np.random.default_rng(2)
    late, acceptance = ch55.metropolis_hastings(5000, 300, rng)
    early, _ = ch55.metropolis_hastings(5000, ch55.EARLY_STEPS, rng)
    assert stats.kstest(late, ch55.mixture_cdf).pvalue > 0.01
    assert stats.kstest(early, ch55.mixture_cdf).pvalue < 1e-6
    assert 0.3 < acceptance < 0.9


def test_ch55_runs_and_plots(tmp_path):
    figures = _run("ch55", tmp_path)
    assert one_figure(figures, "die from the generalised inverse CDF")["verdict"] == "by construction"
    assert all(f["verdict"] == "match" for label, f in figures.items() if not label.startswith("die from"))
    assert (tmp_path / "plots" / "inverse_transform_gaussian.png").stat().st_size > 0
    assert (tmp_path / "plots" / "rejection_and_metropolis.png").stat().st_size > 0
    assert "after 3: KS" in one_figure(figures, "Metropolis-Hastings")["measured"]
    with pytest.raises(ConfigError, match="samples"):
        _run("ch55", tmp_path / "bad", ["samples=3"])


#: English words of ch55's lines and plots as they were before issue 29 (KS, CDF, p and the
#: formulas read the same in both languages).
CH55_ENGLISH = re.compile(r"\b(the|uniform|draws?|distance|critical|mean|std|target|kept|proposals?|chains?|"
                          r"steps?|after|rejection|sampling|density|frequency|die|counts|book|measured|data|plot)\b")


def test_ch55_prints_and_draws_no_english_in_portuguese(tmp_path, capsys, monkeypatch):
    from matplotlib.text import Text

    from lab import i18n
    from supervised.demo_context import DemoContext

    drawn = []
    original = DemoContext.plot
    monkeypatch.setattr(DemoContext, "plot", lambda self, name, fig, step=0: (
        drawn.extend(t.get_text() for t in fig.findobj(Text) if t.get_text()), original(self, name, fig, step)))
    i18n.set_language("pt")
    demos.run("ch55", quick=True, run_dir=str(tmp_path / "ch55"), device="cpu",
              overrides=["samples=2000", "chain_steps=100"])
    printed = capsys.readouterr().out
    # the mixture written as Portuguese writes numbers: decimal commas, N(mean; std^2)
    assert "dados: alvo 0,3 N(-2; 0,5^2) + 0,7 N(1,5; 1^2)" in printed and "livro: qualquer número de 1 a 6" in printed
    assert "densidade do alvo" in drawn
    english = [text for text in printed.splitlines() + drawn if CH55_ENGLISH.search(text.replace(str(tmp_path), ""))]
    assert not english, english


# -- chapters 56-57: direct and adversarial training in 1-D ----------------------------------------


def test_mmd_is_zero_for_equal_samples_and_grows_with_the_shift():
    rng = torch.Generator().manual_seed(0)
    x = torch.randn(300, 1, generator=rng)
    assert float(ch56.mmd_squared(x, x)) == pytest.approx(0.0, abs=1e-6)
    near, far = ch56.mmd_squared(x, x + 0.5), ch56.mmd_squared(x, x + 2.0)
    assert 0 < float(near) < float(far)


def test_direct_training_moves_the_generator_onto_the_target():
    training = ch56.train_direct(steps=300, batch=128, seed=0)
    assert ch56.ks_to_target(training.snapshots[0]) > 0.5
    assert ch56.ks_to_target(training.snapshots[300]) < 0.1
    assert training.losses[-1] < training.losses[0]


def test_the_saturating_loss_is_ascent_on_ds_error_and_its_gradient_is_d_of_g():
    from supervised.demos._training import generator_loss

    logits = torch.tensor([-4.0, 0.0, 3.0], requires_grad=True)
    d = torch.sigmoid(logits.detach())
    assert float(generator_loss(logits, saturating=True)) == pytest.approx(float(torch.log(1 - d).mean()), rel=1e-6)
    (saturating,) = torch.autograd.grad(generator_loss(logits, saturating=True), logits)
    (non_saturating,) = torch.autograd.grad(generator_loss(logits), logits)
    assert torch.allclose(saturating, -d / 3) and torch.allclose(non_saturating, -(1 - d) / 3)


def test_the_saturating_gradient_vanishes_once_d_rejects_the_samples():
    unsure = ch56.gradients_once_d_is_sure(seed=0, batch=128, d_steps=0)
    sure = ch56.gradients_once_d_is_sure(seed=0, batch=128, d_steps=ch56.D_STEPS_BEFORE_GRADIENT)
    assert unsure["D(G(z))"] > 0.3 and unsure["saturating"] / unsure["non-saturating"] > 0.5
    assert sure["D(G(z))"] < 0.05 and sure["saturating"] / sure["non-saturating"] < ch56.VANISHED_RATIO


def test_optimal_discriminator_formula_and_a_trained_d_agree():
    x = np.linspace(-3, 3, 7)
    same = stats.norm.pdf
    assert np.allclose(ch57.optimal_discriminator(x, same, same), 0.5)  # p_g = p_t: one time in two
    discriminator = ch57.fit_discriminator(steps=400, batch=256, seed=0)
    grid = torch.linspace(1.0, 6.0, 11).unsqueeze(1)
    with torch.no_grad():
        learnt = torch.sigmoid(discriminator(grid)).squeeze(1).numpy()
    exact = ch57.optimal_discriminator(grid.squeeze(1).numpy(), stats.norm(ch56.TARGET_MEAN, ch56.TARGET_STD).pdf,
                                       stats.norm(ch57.FIXED_G_MEAN, ch57.FIXED_G_STD).pdf)
    assert np.abs(learnt - exact).max() < 0.08
    # The book's absolute error (ch057.md:14) drives D to the step 1[p_t > p_g] instead.
    absolute = ch57.fit_discriminator(steps=400, batch=256, seed=0, loss_name="absolute")
    with torch.no_grad():
        stepped = torch.sigmoid(absolute(grid)).squeeze(1).numpy()
    far = np.abs(grid.squeeze(1).numpy() - 3.03) > 0.5
    assert np.abs(stepped - (exact > 0.5))[far].max() < 0.1 and np.abs(learnt - exact)[far].max() < 0.08


def test_ch57_gan_ends_near_one_time_in_two(tmp_path):
    figures = _run("ch57", tmp_path, ["steps=600", "d_steps=300"])
    labels = [label for label in figures if label.startswith("D trained on the")]
    assert [figures[label]["source"] for label in labels] == ["book", ch57.GOODFELLOW]
    accuracy = one_figure(figures, "the final D's accuracy")
    assert "ch057.md:80" in accuracy["book"] and abs(accuracy["measured"] - 0.5) < 0.1
    for kind in ("true", "generated"):
        measured = figures[f"mean D(x) on {kind} points, last 60 steps"]["measured"]
        assert abs(measured - 0.5) < 0.1
    loss = figures["discriminator cross-entropy at the end (ln 4 when D = 1/2)"]["measured"]
    assert abs(loss - math.log(4)) < 0.2
    assert (tmp_path / "plots" / "optimal_discriminator.png").stat().st_size > 0


# -- chapters 58-59: the autoencoder family ------------------------------------------------------


def test_pooling_to_the_books_10x10_keeps_the_mean_brightness():
    images = torch.rand(5, 784).numpy()
    pooled = ch58.pool_digits(images, 10)
    assert pooled.shape == (5, 100)
    assert np.allclose(pooled.mean(1).numpy(), images.mean(1), atol=0.03)  # area pooling, unequal cells
    assert torch.equal(ch58.pool_digits(images, 28), torch.from_numpy(images))
    blocks = ch58.pool_digits(np.kron(np.eye(2), np.ones((14, 14))).reshape(1, 784), 2)
    assert torch.equal(blocks, torch.tensor([[1.0, 0.0, 0.0, 1.0]]))


def test_every_variant_maps_100_pixels_through_a_50_unit_code():
    for name in ch58.VARIANTS:
        model = ch58.build_variant(name, 10, 50, seed=0).eval()
        x = torch.rand(3, 100)
        with torch.no_grad():
            assert model.encode(x).shape == (3, 50), name
            assert model(x).shape == (3, 100), name
    multilayer = ch58.build_variant("multilayer", 10, 50, seed=0)
    assert multilayer.hidden_sizes == [75, 50]  # 3 hidden layers: 75, 50 (the code), 75


def test_penalties_shape_what_the_code_learns():
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(256, 16, generator=generator) * torch.linspace(0, 1, 16)  # correlated columns
    trained = {}
    for name, penalties in {"plain": ch58.Penalties(), "l1": ch58.Penalties(l1_activity=0.1),
                            "cae": ch58.Penalties(contractive=0.05)}.items():
        trained[name] = ch58.build_variant("standard", 4, 8, seed=0)
        ch58.train_variant(trained[name], images, penalties, epochs=30, seed=0)
    codes = {name: ch58.code_of(model, images) for name, model in trained.items()}
    assert codes["l1"].abs().mean() < 0.5 * codes["plain"].abs().mean()
    with torch.no_grad():
        assert trained["cae"].contractive_penalty(images) < 0.5 * trained["plain"].contractive_penalty(images)


def test_ch58_runs_judges_and_plots(tmp_path):
    figures = _run("ch58", tmp_path, ["epochs=3"])
    assert figures["the book's example: inputs n and hidden units s of the standard autoencoder"]["measured"] \
        == [100, 50]
    for name in ch58.VARIANTS:
        figure = figures[f"{name}: held-out reconstruction MSE per pixel"]
        assert figure["verdict"] == "not comparable" and 0 < figure["measured"] < 0.05
    assert figures["share of the held-out variance left unexplained: digits vs independent random pixels"][
        "verdict"] == "match"
    copies = one_figure(figures, "100-100-100 linear autoencoder")
    assert all(0 <= float(v) < 0.1 for v in copies["measured"].split(" vs "))
    for figure in figures.values():
        assert figure["verdict"] == "match" or figure["reason"]
    for name in ("autoencoder_reconstructions", "noisy_four", "code_sparsity"):
        assert (tmp_path / "plots" / f"{name}.png").stat().st_size > 0
    with pytest.raises(ConfigError, match="side"):
        _run("ch58", tmp_path / "bad", ["side=7"])


@pytest.mark.slow
def test_ch58_quick_matches_every_judged_claim(tmp_path):
    figures = _run("ch58", tmp_path)
    judged = {label: f["verdict"] for label, f in figures.items() if "held-out reconstruction MSE" not in label}
    assert set(judged.values()) == {"match"}, judged


# -- chapters 60-61: PCA vs the linear autoencoder, the VAE ----------------------------------------


def _data_with_three_strong_directions(n: int = 600, dims: int = 20) -> tuple[torch.Tensor, torch.Tensor]:
    """(data, its three strong directions as rows): variances 9, 4, 2.25 then 0.01 in the rest."""
    generator = torch.Generator().manual_seed(0)
    basis, _ = torch.linalg.qr(torch.randn(dims, dims, generator=generator))
    scales = torch.tensor([3.0, 2.0, 1.5] + [0.1] * (dims - 3))
    data = 0.5 + (torch.randn(n, dims, generator=generator) * scales) @ basis.T
    return data, basis[:, :3].T


def test_importance_sampled_evidence_matches_the_integral_and_bounds_the_elbo():
    torch.manual_seed(0)
    vae = nets.build("vae", input_size=16, hidden_sizes=[8], latent_size=1).eval()
    images, C = torch.rand(5, 16), 1.0
    elbo, evidence = ch60.evidence_and_bound(vae, images, C, seed=0, draws=(20, 20_000))
    z = torch.linspace(-9, 9, 6001).unsqueeze(1)  # p(x) = integral of p(x | z) p(z) dz, on a grid
    with torch.no_grad():
        log_joint = (-C * ((images[:, None] - vae.decode(z)[None]) ** 2).sum(-1) - 8 * math.log(math.pi / C)
                     + torch.distributions.Normal(0.0, 1.0).log_prob(z).squeeze(1))
    exact = torch.logsumexp(log_joint, 1) + math.log(float(z[1] - z[0]))
    assert torch.allclose(evidence[20_000], exact, atol=0.02)
    assert (elbo < exact).all()


def test_pca_and_a_trained_linear_autoencoder_span_the_same_subspace():
    data, strong = _data_with_three_strong_directions()
    mean, directions, eigenvalues = ch60.pca(data, 3)
    assert np.all(ch60.principal_angles_degrees(directions.T.numpy(), strong.T.numpy()) < 2.0)
    assert float(eigenvalues[0]) == pytest.approx(9.0, rel=0.2)
    model = ch60.train_linear_autoencoder(data, 3, epochs=150, seed=0)
    columns = ch60.decoder_columns(model)
    assert ch60.principal_angles_degrees(columns, directions.T.numpy()).max() < 2.0
    assert ch60.pca_error(data, mean, directions) <= ch60.pca_error(data, mean, torch.eye(20)[:3]) + 1e-6
    assert ch60.largest_cosine(directions.T.numpy()) < 1e-5  # PCA's basis is orthonormal
    assert ch60.principal_angles_degrees(np.eye(4)[:, :2], np.eye(4)[:, 2:]) == pytest.approx([90.0, 90.0])


def test_aggregate_kl_is_zero_when_the_encodings_fill_the_prior():
    mu, logvar = torch.zeros(500, 2), torch.zeros(500, 2)
    assert ch60.aggregate_kl(mu, logvar) == pytest.approx(0.0, abs=1e-9)
    shifted = ch60.aggregate_kl(mu + 1.0, logvar)  # N((1, 1), I): KL = |m|^2 / 2 = 1
    assert shifted == pytest.approx(1.0, abs=1e-6)
    generator = torch.Generator().manual_seed(0)
    spread_means = torch.randn(20_000, 2, generator=generator)  # point-like codes spread as N(0, I)
    assert ch60.aggregate_kl(spread_means, torch.full((20_000, 2), -20.0)) < 0.01
    assert ch60.strictly_monotone([3.0, 2.0, 1.0], increasing=False)
    assert not ch60.strictly_monotone([1.0, 2.0, 2.0], increasing=True)


def test_ch60_runs_reports_the_trade_and_plots(tmp_path):
    figures = _run("ch60", tmp_path, ["linear_epochs=20", "epochs=1", "C=[0.1, 100]", "latent=4"])
    errors = figures["held-out reconstruction error for C = 0.1, 100"]["measured"]
    kls = figures["KL term for the same C values"]["measured"]
    assert errors[0] > errors[1] and kls[0] < kls[1]  # C = 1/(2c) trades sharpness for regularity
    assert "gap" in one_figure(figures, "ELBO vs ln p(x)")["measured"]
    for figure in figures.values():
        assert figure["verdict"] == "match" or figure["reason"]
    for name in ("pca_vs_linear_autoencoder", "vae_C_sweep", "vae_latent_scatter", "vae_latent_grid",
                 "vae_interpolation"):
        assert (tmp_path / "plots" / f"{name}.png").stat().st_size > 0
    with pytest.raises(ConfigError, match="C="):
        _run("ch60", tmp_path / "bad", ["C=[0.1, -1]"])
    assert not (tmp_path / "bad").exists()  # refused before its run directory was written


@pytest.mark.slow
def test_ch60_quick_matches_every_claim(tmp_path):
    figures = _run("ch60", tmp_path)
    assert {f["verdict"] for f in figures.values()} == {"match"}, figures
