"""Override parsing and validation: every error names the field."""

import dataclasses
import re

import pytest

from tfxdr.config import apply_overrides, from_dict, to_dict
from tfxdr.errors import ConfigError
from tfxdr.models import MODELS, D2DTMConfig, DCNConfig, MultiVAEConfig


def _raises(message):
    """pytest.raises for a ConfigError whose message is exactly ``message``."""
    return pytest.raises(ConfigError, match=f"^{re.escape(message)}$")


def test_overrides_parse_each_field_type():
    config = apply_overrides(
        MultiVAEConfig(),
        ["latent_dim=64", "dropout=0.3", "hidden_dims=300,100", "epochs=7"],
    )
    assert config.latent_dim == 64
    assert config.dropout == pytest.approx(0.3)
    assert config.hidden_dims == (300, 100)
    assert config.epochs == 7
    assert config.beta_cap == MultiVAEConfig().beta_cap  # fields not named keep their value


def test_overrides_leave_the_config_passed_in_unchanged():
    original = MultiVAEConfig(latent_dim=20, hidden_dims=(8,))
    updated = apply_overrides(original, ["latent_dim=64", "hidden_dims=300,100"])
    assert updated is not original
    assert (original.latent_dim, original.hidden_dims) == (20, (8,))
    assert original == MultiVAEConfig(latent_dim=20, hidden_dims=(8,))
    assert (updated.latent_dim, updated.hidden_dims) == (64, (300, 100))


def test_unknown_field_lists_valid_fields():
    valid = ", ".join(f.name for f in dataclasses.fields(MultiVAEConfig))
    message = f"unknown config field 'latnt_dim' for MultiVAEConfig; valid fields: {valid}"
    with _raises(message) as error:
        apply_overrides(MultiVAEConfig(), ["latnt_dim=3"])
    assert error.value.field == "latnt_dim"


@pytest.mark.parametrize("override, field, message", [
    ("latent_dim=big", "latent_dim", "MultiVAEConfig.latent_dim='big' is invalid: expected an "
                                     "integer"),
    ("dropout=x", "dropout", "MultiVAEConfig.dropout='x' is invalid: expected a number"),
    # An empty list is no list of sizes.
    ("hidden_dims=", "hidden_dims", "MultiVAEConfig.hidden_dims='' is invalid: expected a "
                                    "comma-separated list with at least one value"),
    ("hidden_dims=,", "hidden_dims", "MultiVAEConfig.hidden_dims=',' is invalid: expected a "
                                     "comma-separated list with at least one value"),
])
def test_bad_value_names_field_and_expected_type(override, field, message):
    with _raises(message) as error:
        apply_overrides(MultiVAEConfig(), [override])
    assert error.value.field == field


@pytest.mark.parametrize("override, field, message", [
    ("dropout=1.5", "dropout", "MultiVAEConfig.dropout=1.5 is invalid: expected a number in "
                               "[0, 1)"),
    ("epochs=0", "epochs", "MultiVAEConfig.epochs=0 is invalid: expected an integer >= 1"),
    ("learning_rate=0", "learning_rate", "MultiVAEConfig.learning_rate=0.0 is invalid: "
                                         "expected a finite number > 0"),
])
def test_out_of_range_value_is_rejected_by_validate(override, field, message):
    with _raises(message) as error:
        apply_overrides(MultiVAEConfig(), [override])
    assert error.value.field == field


def test_malformed_item():
    with _raises("override 'dropout' is malformed: expected key=value"):
        apply_overrides(MultiVAEConfig(), ["dropout"])
    with _raises("override '=3' is malformed: expected key=value"):
        apply_overrides(MultiVAEConfig(), ["=3"])


def test_round_trip_through_json_values():
    config = apply_overrides(MultiVAEConfig(), ["hidden_dims=10,5"])
    assert from_dict(MultiVAEConfig, to_dict(config)) == config
    with pytest.raises(ConfigError, match="unknown field\\(s\\) bogus for MultiVAEConfig"):
        from_dict(MultiVAEConfig, {**to_dict(config), "bogus": 1})


LITERAL_MESSAGE = "D2DTMConfig.gan_loss='x' is invalid: expected one of log, lsq"


def test_literal_field_outside_its_choices_is_refused_from_a_saved_config():
    with _raises(LITERAL_MESSAGE) as error:
        from_dict(D2DTMConfig, {**to_dict(D2DTMConfig()), "gan_loss": "x"})
    assert error.value.field == "gan_loss"


def test_literal_field_outside_its_choices_is_refused_by_validate():
    config = D2DTMConfig(gan_loss="x")  # a dataclass does not check its types
    with _raises(LITERAL_MESSAGE) as error:
        config.validate()
    assert error.value.field == "gan_loss"
    with _raises(LITERAL_MESSAGE):
        apply_overrides(D2DTMConfig(), ["gan_loss=x"])


@pytest.mark.parametrize("model, override, field, shown", [
    ("cnan_at", "lambda_1=inf", "lambda_1", "inf"),
    ("d2dtm", "translation_weight=-inf", "translation_weight", "-inf"),
    ("dadin", "learning_rate=nan", "learning_rate", "nan"),
    ("d2dtm", "d_learning_rate=inf", "d_learning_rate", "inf"),
])
def test_non_finite_numbers_are_refused_in_every_config(model, override, field, shown):
    # float("inf") and float("nan") parse; validate refuses them in any float field.
    config_cls = MODELS.get(model).config_cls
    with _raises(f"{config_cls.__name__}.{field}={shown} is invalid: expected a finite "
                 "number") as error:
        apply_overrides(config_cls(), [override])
    assert error.value.field == field


@pytest.mark.parametrize("override, field, message", [
    ("d_steps=0", "d_steps", "D2DTMConfig.d_steps=0 is invalid: expected an integer >= 1"),
    ("preset=medium", "preset", "D2DTMConfig.preset='medium' is invalid: expected one of "
                                "auto, small, large"),
])
def test_two_player_fields_are_checked(override, field, message):
    with _raises(message) as error:
        apply_overrides(D2DTMConfig(), [override])
    assert error.value.field == field


def test_optional_number_field_parses_a_number_and_none():
    assert apply_overrides(D2DTMConfig(), ["d_learning_rate=0.002"]).d_learning_rate == 0.002
    assert apply_overrides(D2DTMConfig(), ["d_learning_rate=none"]).d_learning_rate is None


@pytest.mark.parametrize("override, field, message", [
    ("continuous_buckets=1", "continuous_buckets",
     "DCNConfig.continuous_buckets=1 is invalid: expected 0 or an integer in [2, 100]"),
    ("unknown_id_rate=1", "unknown_id_rate",
     "DCNConfig.unknown_id_rate=1.0 is invalid: expected a number in [0, 1)"),
    ("target_fraction=0", "target_fraction",
     "DCNConfig.target_fraction=0.0 is invalid: expected a fraction in (0, 1]"),
    ("train_domains=", "train_domains",
     "DCNConfig.train_domains='' is invalid: expected all, source, target or domain names"),
])
def test_ctr_training_fields_are_checked(override, field, message):
    with _raises(message) as error:
        apply_overrides(DCNConfig(), [override])
    assert error.value.field == field


@pytest.mark.parametrize("model, owner", [("dann_dcn", "DANNDCNConfig"), ("dadin", "DADINConfig")])
def test_adversarial_loss_fields_are_checked_once_for_every_model(model, owner):
    config_cls = MODELS.get(model).config_cls
    with pytest.raises(ConfigError, match=rf"{owner}.grl_scale=-0.5 is invalid: expected a "
                                          r"number >= 0"):
        apply_overrides(config_cls(), ["grl_scale=-0.5"])
    with pytest.raises(ConfigError, match=rf"{owner}.threshold=1.0 is invalid: expected a "
                                          r"number in \(0, 1\)"):
        apply_overrides(config_cls(), ["threshold=1"])
