"""A frozen TensorFlow GraphDef written without TensorFlow: the protobuf messages come from the
`tensorboard` package (tensorboard.compat.proto ships TensorFlow's graph, node, attribute and
tensor messages), the nodes are added one op at a time.

    g = GraphBuilder()
    x = g.placeholder("input", [-1, 120, 160, 1])
    y = g.op("Relu", "relu", [x])
    data = g.serialize()            # the bytes of a frozen model.pb

Only the ops drtui's car export needs, with the attributes TensorFlow 1.x writes for them
(what the car's converters, OpenVINO's TF frontend and the TFLite converter, read). Weights are
Const nodes holding little-endian float32 bytes (`tensor_content`), as tf.graph_util's
convert_variables_to_constants leaves them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# TF 1.15's GraphDef producer version: what simapp's freeze writes, and a version every
# converter the car runs accepts.
PRODUCER = 134


def _proto():
    from tensorboard.compat.proto import (
        attr_value_pb2,
        graph_pb2,
        tensor_pb2,
        tensor_shape_pb2,
        types_pb2,
    )

    return attr_value_pb2, graph_pb2, tensor_pb2, tensor_shape_pb2, types_pb2


class GraphBuilder:
    """Collects NodeDefs in order; names must be unique (checked)."""

    def __init__(self) -> None:
        attr, graph, tensor, shape, types = _proto()
        self._attr, self._tensor, self._shape = attr, tensor, shape
        self.float_t, self.int32_t = types.DT_FLOAT, types.DT_INT32
        self.graph = graph.GraphDef()
        self.graph.versions.producer = PRODUCER
        self._names: set[str] = set()

    # --- attributes ------------------------------------------------------------------------

    def _shape_proto(self, dims: Sequence[int]):
        proto = self._shape.TensorShapeProto()
        for d in dims:
            proto.dim.add().size = int(d)
        return proto

    def _set(self, node, key: str, value) -> None:
        a = node.attr[key]
        if isinstance(value, bool):
            a.b = value
        elif isinstance(value, int):
            a.i = value
        elif isinstance(value, float):
            a.f = value
        elif isinstance(value, str):
            a.s = value.encode()
        elif isinstance(value, tuple) and value and value[0] == "type":
            a.type = value[1]
        elif isinstance(value, list):
            a.list.SetInParent()  # an empty list is still a list, not an unset value
            a.list.i.extend(int(v) for v in value)
        else:
            raise TypeError(f"attribute {key}: unsupported value {value!r}")

    def _node(self, op: str, name: str, inputs: Sequence[str], attrs: dict):
        if name in self._names:
            raise ValueError(f"two nodes named {name!r}")
        self._names.add(name)
        node = self.graph.node.add()
        node.op, node.name = op, name
        node.input.extend(inputs)
        for key, value in attrs.items():
            self._set(node, key, value)
        return node

    def T(self) -> tuple[str, int]:  # noqa: N802 - TensorFlow's attribute name
        return ("type", self.float_t)

    # --- nodes -----------------------------------------------------------------------------

    def placeholder(self, name: str, dims: Sequence[int]) -> str:
        node = self._node("Placeholder", name, [], {"dtype": self.T()})
        node.attr["shape"].shape.CopyFrom(self._shape_proto(dims))
        return name

    def const(self, name: str, value: np.ndarray | Sequence[int], dtype: str = "float32") -> str:
        # np.array keeps a scalar 0-d (ascontiguousarray would make it shape [1])
        array = np.array(value, dtype=np.dtype(dtype).newbyteorder("<"), order="C")
        code = self.float_t if dtype == "float32" else self.int32_t
        node = self._node("Const", name, [], {"dtype": ("type", code)})
        t = node.attr["value"].tensor
        t.dtype = code
        t.tensor_shape.CopyFrom(self._shape_proto(array.shape))
        t.tensor_content = array.tobytes()
        return name

    def op(self, op: str, name: str, inputs: Sequence[str], **attrs) -> str:
        """A float op with T set; extra attributes as keyword arguments (lists of ints, strs,
        bools, ints, or ("type", code))."""
        self._node(op, name, inputs, {"T": self.T(), **attrs})
        return name

    # --- layers, TF 1.x style ---------------------------------------------------------------

    def conv2d(self, scope: str, x: str, kernel_hwio: np.ndarray, bias: np.ndarray,
               stride: int) -> str:
        k = self.const(f"{scope}/kernel", kernel_hwio)
        b = self.const(f"{scope}/bias", bias)
        y = self.op("Conv2D", f"{scope}/Conv2D", [x, k], strides=[1, stride, stride, 1],
                    padding="VALID", data_format="NHWC", dilations=[1, 1, 1, 1],
                    use_cudnn_on_gpu=True, explicit_paddings=[])
        return self.op("BiasAdd", f"{scope}/BiasAdd", [y, b], data_format="NHWC")

    def dense(self, scope: str, x: str, kernel_io: np.ndarray, bias: np.ndarray) -> str:
        k = self.const(f"{scope}/kernel", kernel_io)
        b = self.const(f"{scope}/bias", bias)
        y = self.op("MatMul", f"{scope}/MatMul", [x, k], transpose_a=False, transpose_b=False)
        return self.op("BiasAdd", f"{scope}/BiasAdd", [y, b], data_format="NHWC")

    def reshape(self, name: str, x: str, dims: Sequence[int]) -> str:
        shape = self.const(f"{name}/shape", list(dims), "int32")
        return self.op("Reshape", name, [x, shape], Tshape=("type", self.int32_t))

    def concat(self, name: str, xs: Sequence[str], axis: int) -> str:
        a = self.const(f"{name}/axis", np.int32(axis), "int32")
        return self.op("ConcatV2", name, [*xs, a], N=len(xs), Tidx=("type", self.int32_t))

    def mean(self, name: str, x: str, axes: Sequence[int], keep_dims: bool) -> str:
        a = self.const(f"{name}/reduction_indices", list(axes), "int32")
        return self.op("Mean", name, [x, a], keep_dims=keep_dims, Tidx=("type", self.int32_t))

    def pad(self, name: str, x: str, pads: Sequence[Sequence[int]]) -> str:
        p = self.const(f"{name}/paddings", np.asarray(pads), "int32")
        return self.op("Pad", name, [x, p], Tpaddings=("type", self.int32_t))

    def serialize(self) -> bytes:
        return self.graph.SerializeToString()


def parse(data: bytes):
    """A serialized GraphDef as the protobuf message (raises protobuf's DecodeError)."""
    _attr, graph, *_ = _proto()
    g = graph.GraphDef()
    g.ParseFromString(data)
    return g
