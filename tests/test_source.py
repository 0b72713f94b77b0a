from collections import OrderedDict

import pytest
import torch
from torch import nn

from sktkd._modules import Standardize
from sktkd._source import (
    find_head,
    layer_groups,
    load_into,
    load_weights,
    replace_head,
    with_identity_scaling,
)


def network():
    """``Sequential(standardize, body)`` as sktkd builds it, with a batch norm."""
    body = nn.Sequential(
        OrderedDict(
            hidden=nn.Linear(4, 8),
            norm=nn.BatchNorm1d(8),
            act=nn.ReLU(),
            out=nn.Linear(8, 3),
        )
    )
    return nn.Sequential(
        OrderedDict(standardize=Standardize(torch.zeros(4), torch.ones(4)), body=body)
    )


def test_find_head_takes_the_last_linear_layer_or_the_named_one():
    assert find_head(network()) == "body.out"
    assert find_head(network(), head="hidden") == "body.hidden"
    expected = r"head='act' is not a torch.nn.Linear.*\['hidden', 'out'\]"
    with pytest.raises(ValueError, match=expected):
        find_head(network(), head="act")


def test_replace_head_sizes_a_fresh_layer_for_the_classes():
    net = network()
    old = net.body.out
    replace_head(net, "body.out", 5)
    assert net.body.out is not old
    assert (net.body.out.in_features, net.body.out.out_features) == (8, 5)
    assert net(torch.zeros(2, 4)).shape == (2, 5)


def test_layer_groups_go_from_the_head_down_with_norms_joined_to_their_layer():
    assert layer_groups(network(), "body.out") == [
        ["body.out"],
        ["body.hidden", "body.norm"],
    ]


def test_load_into_copies_everything_but_the_head():
    source, net = network(), network()
    loaded = load_into(net, source.state_dict(), "body.out")
    assert not any(key.startswith("body.out.") for key in loaded)
    assert torch.equal(net.body.hidden.weight, source.body.hidden.weight)
    assert not torch.equal(net.body.out.weight, source.body.out.weight)


def test_load_into_a_body_state_leaves_inputs_unscaled():
    net = network()
    load_into(net, network().body.state_dict(), "body.out")
    assert net.standardize.scale.item() == 1.0


def test_load_into_names_missing_and_unexpected_keys():
    state = network().state_dict()
    state["body.extra.weight"] = state.pop("body.hidden.weight")
    with pytest.raises(ValueError, match=r"missing \['body.hidden.weight'\], unexpected"):
        load_into(network(), state, "body.out")


def test_load_weights_reads_state_dicts_and_refuses_pickled_objects(tmp_path):
    path = tmp_path / "weights.pt"
    torch.save(network().state_dict(), path)
    assert set(load_weights(path)) == set(network().state_dict())
    torch.save({"not": "tensors"}, path)
    with pytest.raises(ValueError, match="does not hold a state_dict"):
        load_weights(path)


def test_identity_scaling_leaves_inputs_as_they_are():
    X = torch.randn(3, 4)
    assert torch.equal(with_identity_scaling(nn.Identity())(X), X)


def test_a_body_file_whose_module_has_an_attribute_named_body():
    class UserNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.body, self.head = nn.Linear(4, 8), nn.Linear(8, 2)

        def forward(self, X):
            return self.head(self.body(X))

    net = with_identity_scaling(UserNet())
    loaded = load_into(net, UserNet().state_dict(), "body.head")
    assert set(loaded) == {"body.body.weight", "body.body.bias"}


@pytest.mark.parametrize(
    "write, match",
    [
        (lambda p: p.write_text("not weights"), "not a readable safetensors file"),
        (lambda p: p.write_bytes(b""), "not a readable safetensors file"),
    ],
)
def test_unreadable_safetensors_files_name_the_file(tmp_path, write, match):
    path = tmp_path / "broken.safetensors"
    write(path)
    with pytest.raises(ValueError, match=f"broken.safetensors.*{match}"):
        load_weights(path)


def test_weights_files_of_the_wrong_kind_or_with_nan_name_the_problem(tmp_path):
    path = tmp_path / "weights.pt"
    torch.save({1: torch.zeros(2)}, path)
    with pytest.raises(ValueError, match="weights.pt.*tensors under string names"):
        load_weights(path)
    state = network().state_dict()
    state["body.hidden.weight"][0, 0] = float("nan")
    torch.save(state, path)
    with pytest.raises(ValueError, match=r"weights.pt.*NaN or infinite weights in \['body.hidden"):
        load_weights(path)
