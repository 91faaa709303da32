"""compress against the golden cases, in every dtype and layout, through a real daemon."""

from __future__ import annotations

import numpy as np
import pytest

from testing_support import CASES, GoldenCase, relative_error
from lomad_client import InvalidArgument, NotFound, StatusError
from lomad_client.loma.v1 import status_pb2
from lomad_client.tensors import BFLOAT16


@pytest.mark.parametrize("name", CASES)
def test_compress_matches_the_golden_case(client, name):
    case = GoldenCase.load(name)
    memory = client.compress(
        case.keys,
        case.values,
        context=case.context,
        model=case.model,
        position=case.position,
        layout=case.layout,
        method=case.method,
        output_dtype="f32",
        output_layout="heads_major",
    )
    assert memory.layout == "heads_major"
    assert memory.keys.dtype == np.float32
    assert relative_error(memory.keys, case.expected_keys) < 1e-4
    assert relative_error(memory.values, case.expected_values) < 1e-4
    np.testing.assert_array_equal(memory.positions, case.expected_positions)
    assert memory.segments == case.segments


def test_output_defaults_to_the_input_dtype_and_layout(client):
    case = GoldenCase.load("qwen2_tied_f16_context")  # f16, tokens-major
    memory = client.compress(case.keys, case.values, context=case.context, model=case.model,
                             position=case.position, layout=case.layout)
    assert memory.keys.dtype == np.float16
    assert memory.layout == "tokens_major"
    heads_major = memory.keys.astype(np.float32).transpose(0, 2, 1, 3)
    # f16 output keeps 11 bits of mantissa.
    assert relative_error(heads_major, case.expected_keys) < 2e-3


def test_bf16_output(client):
    case = GoldenCase.load("llama_gqa_single")
    memory = client.compress(case.keys, case.values, model=case.model, output_dtype="bf16", output_layout="tokens_major")
    assert memory.keys.dtype == BFLOAT16
    values = memory.values.astype(np.float32).transpose(0, 2, 1, 3)
    # bf16 keeps 8 bits of mantissa: at most ~0.4% per element.
    assert relative_error(values, case.expected_values) < 5e-3


def test_strided_and_tokens_major_inputs_are_sent_as_given(client):
    """A non-contiguous view (here a transposed array) is made contiguous before it travels."""
    case = GoldenCase.load("llama_gqa_single")
    tokens_major_view = np.ascontiguousarray(case.keys).transpose(0, 2, 1, 3)
    assert not tokens_major_view.flags.c_contiguous
    memory = client.compress(tokens_major_view, case.values.transpose(0, 2, 1, 3), model=case.model,
                             layout="tokens_major", output_layout="heads_major")
    assert relative_error(memory.keys, case.expected_keys) < 1e-4


def test_a_segment_of_the_wrong_shape_is_refused_with_invalid_argument(client):
    case = GoldenCase.load("llama_gqa_single")
    with pytest.raises(InvalidArgument) as caught:
        client.compress(case.keys[:, :, :5], case.values[:, :, :5], model=case.model)
    assert caught.value.code == status_pb2.STATUS_CODE_INVALID_ARGUMENT
    assert isinstance(caught.value, StatusError)
    assert "segment" in str(caught.value)
    # The daemon survives bad requests: the same client is served next.
    assert client.compress(case.keys, case.values, model=case.model).tokens == 4


def test_nan_is_refused_when_checked(client):
    case = GoldenCase.load("llama_gqa_single")
    keys = np.array(case.keys)
    keys[0, 0, 0, 0] = np.nan
    with pytest.raises(InvalidArgument, match="NaN or infinity"):
        client.compress(keys, case.values, model=case.model, check_finite=True)


def test_an_unknown_model_is_not_found(client):
    case = GoldenCase.load("llama_gqa_single")
    with pytest.raises(NotFound) as caught:
        client.compress(case.keys, case.values, model="no-such-model")
    assert caught.value.code_name == "NOT_FOUND"
    assert "unknown model" in caught.value.status_message


def test_arguments_the_client_can_check_are_refused_before_sending(client):
    with pytest.raises(TypeError, match="dtype int64"):
        client.compress(np.zeros((2, 2, 8, 8), dtype=np.int64), np.zeros((2, 2, 8, 8), dtype=np.int64))
    with pytest.raises(ValueError, match="4 axes"):
        client.compress(np.zeros((2, 8, 8), dtype=np.float32), np.zeros((2, 8, 8), dtype=np.float32))
    with pytest.raises(ValueError, match="method"):
        client.compress(np.zeros((2, 2, 8, 8), np.float32), np.zeros((2, 2, 8, 8), np.float32), method="zip")


def test_reply_arrays_are_read_only(client):
    case = GoldenCase.load("llama_gqa_single")
    memory = client.compress(case.keys, case.values, context=case.context, model=case.model, position=case.position,
                             layout=case.layout, output_dtype="f32")
    for array in (memory.keys, memory.values, memory.positions):
        assert not array.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            array[(0,) * array.ndim] = 1
    writeable = np.array(memory.keys)
    writeable[0, 0, 0, 0] = 1  # the documented way to get an array to change
    assert repr(memory) == (f"Memory(segments={memory.segments}, tokens={memory.tokens}, layout='heads_major', "
                            f"keys=float32{list(memory.keys.shape)}, values=float32{list(memory.values.shape)}, "
                            f"positions={memory.positions[0]}..{memory.positions[-1]})")
