"""The synthetic population's acquisition channels: every supplier has one, drawn with its
archetype's weights (referrals bring more of the engaged kinds than paid social does), and
adding them changed no other draw."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from wedsync_success.synthetic import catalog as cat
from wedsync_success.synthetic.population import generate_population

END = datetime(2026, 6, 1, tzinfo=UTC)


def test_every_supplier_has_a_channel_and_they_differ_by_archetype() -> None:
    population = generate_population(suppliers=3000, months=6, seed=5, end=END)
    channels = np.array([s.acquisition_channel for s in population.suppliers])
    assert set(channels) <= set(cat.ACQUISITION_CHANNELS)
    archetypes = np.array([t.archetype for t in population.truth])
    thriving = channels[archetypes == "thriving"]
    dormant = channels[archetypes == "dormant"]
    assert (thriving == "referral").mean() > 2 * (dormant == "referral").mean()
    assert (dormant == "paid_social").mean() > 2 * (thriving == "paid_social").mean()


def test_the_same_seed_gives_the_same_channels() -> None:
    first = generate_population(suppliers=600, months=3, seed=9, end=END)
    second = generate_population(suppliers=600, months=3, seed=9, end=END)
    assert [s.acquisition_channel for s in first.suppliers] == [
        s.acquisition_channel for s in second.suppliers
    ]
    assert [s.id for s in first.suppliers] == [s.id for s in second.suppliers]


def test_the_channel_stream_leaves_the_other_streams_as_they_were() -> None:
    # generate_population spawns a fifth child seed for the channels: the first four are the
    # ones spawn(4) gave before, so every other draw of a seed is unchanged.
    five = np.random.SeedSequence(7).spawn(5)[:4]
    four = np.random.SeedSequence(7).spawn(4)
    assert [s.generate_state(4).tolist() for s in five] == [
        s.generate_state(4).tolist() for s in four
    ]


def test_weights_are_distributions() -> None:
    for weights in cat.CHANNEL_WEIGHTS.values():
        assert len(weights) == len(cat.ACQUISITION_CHANNELS)
        assert abs(sum(weights) - 1) < 1e-9
