"""Tests for the chapter demos 54-61 (sampling, GANs, autoencoders, the VAE): their functions
compute what the chapters say, and each demo runs in quick mode and writes its figures."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
import torch
from scipy import stats

from lab.config import ConfigError
from supervised import demos
from supervised.demos import ch55_sampling as ch55
from supervised.demos import ch56_generative_models as ch56
from supervised.demos import ch57_gan_math as ch57

GENERATIVE_DEMOS = ("ch55", "ch56", "ch57")


def _run(key: str, tmp_path, overrides: list[str] | None = None) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the bundled subset stands in for MNIST, as intended
        result = demos.run(key, quick=True, run_dir=str(tmp_path), quiet=True, overrides=overrides or [],
                           data="mnist-subset", device="cpu")
    on_disk = json.loads((tmp_path / "results.json").read_text())
    assert on_disk["figures"] == result["figures"]
    return {figure["label"]: figure for figure in on_disk["figures"]}


def test_generative_demos_are_registered_with_both_titles():
    listed = {demo.key: demo for demo in demos.available()}
    for key in GENERATIVE_DEMOS:
        assert key in listed, key
        assert listed[key].title_pt and listed[key].title_en


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


def test_ch55_runs_and_plots(tmp_path):
    figures = _run("ch55", tmp_path)
    assert all(f["verdict"] == "match" for f in figures.values())
    assert (tmp_path / "plots" / "inverse_transform_gaussian.png").stat().st_size > 0
    with pytest.raises(ConfigError, match="samples"):
        _run("ch55", tmp_path / "bad", ["samples=3"])


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


def test_ch57_gan_ends_near_one_time_in_two(tmp_path):
    figures = _run("ch57", tmp_path, ["steps=600", "d_steps=300"])
    for kind in ("true", "generated"):
        measured = figures[f"mean D(x) on {kind} points, last 60 steps"]["measured"]
        assert abs(measured - 0.5) < 0.1
    loss = figures["discriminator cross-entropy at the end (ln 4 when D = 1/2)"]["measured"]
    assert abs(loss - math.log(4)) < 0.2
    assert (tmp_path / "plots" / "optimal_discriminator.png").stat().st_size > 0
