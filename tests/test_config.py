"""--set parsing and validation: every error names the field."""

import dataclasses
import re

import pytest

from tfxdr.config import apply_overrides, from_dict, to_dict
from tfxdr.errors import ConfigError
from tfxdr.models import MODELS, MultiVAEConfig


def test_overrides_parse_each_field_type():
    config = apply_overrides(
        MultiVAEConfig(),
        ["latent_dim=64", "dropout=0.3", "hidden_dims=300,100", "epochs=7"],
    )
    assert config.latent_dim == 64
    assert config.dropout == pytest.approx(0.3)
    assert config.hidden_dims == (300, 100)
    assert config.epochs == 7
    # Defaults are untouched and the original is not mutated.
    assert config.beta_cap == MultiVAEConfig().beta_cap
    assert MultiVAEConfig().latent_dim == 50


def test_unknown_field_lists_valid_fields():
    valid = ", ".join(f.name for f in dataclasses.fields(MultiVAEConfig))
    message = f"unknown config field 'latnt_dim' for MultiVAEConfig; valid fields: {valid}"
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}$"):
        apply_overrides(MultiVAEConfig(), ["latnt_dim=3"])


def test_bad_value_names_field_and_expected_type():
    with pytest.raises(ConfigError, match=re.escape(
            "MultiVAEConfig.latent_dim='big' is invalid: expected an integer")):
        apply_overrides(MultiVAEConfig(), ["latent_dim=big"])
    with pytest.raises(ConfigError, match=re.escape(
            "MultiVAEConfig.dropout='x' is invalid: expected a number")):
        apply_overrides(MultiVAEConfig(), ["dropout=x"])


def test_out_of_range_value_is_rejected_by_validate():
    with pytest.raises(ConfigError, match=re.escape(
            "MultiVAEConfig.dropout=1.5 is invalid: expected a number in [0, 1)")):
        apply_overrides(MultiVAEConfig(), ["dropout=1.5"])
    with pytest.raises(ConfigError, match=re.escape(
            "MultiVAEConfig.epochs=0 is invalid: expected an integer >= 1")):
        apply_overrides(MultiVAEConfig(), ["epochs=0"])


def test_malformed_item():
    with pytest.raises(ConfigError, match=re.escape(
            "--set 'dropout' is malformed: expected key=value")):
        apply_overrides(MultiVAEConfig(), ["dropout"])


def test_round_trip_through_json_values():
    config = apply_overrides(MultiVAEConfig(), ["hidden_dims=10,5"])
    assert from_dict(MultiVAEConfig, to_dict(config)) == config
    with pytest.raises(ConfigError, match="unknown field\\(s\\) bogus for MultiVAEConfig"):
        from_dict(MultiVAEConfig, {**to_dict(config), "bogus": 1})


@pytest.mark.parametrize("model, owner", [("dann_dcn", "DANNDCNConfig"), ("dadin", "DADINConfig")])
def test_adversarial_loss_fields_are_checked_once_for_every_model(model, owner):
    config_cls = MODELS.get(model).config_cls
    with pytest.raises(ConfigError, match=rf"{owner}.grl_scale=-0.5 is invalid: expected a "
                                          r"number >= 0"):
        apply_overrides(config_cls(), ["grl_scale=-0.5"])
    with pytest.raises(ConfigError, match=rf"{owner}.threshold=1.0 is invalid: expected a "
                                          r"number in \(0, 1\)"):
        apply_overrides(config_cls(), ["threshold=1"])
