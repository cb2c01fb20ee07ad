"""Writes model/model_2.pb and model/model_5.pb with real TensorFlow (run once, by hand):

    python -m venv /tmp/tfvenv && /tmp/tfvenv/bin/pip install tensorflow-cpu==2.15.1
    /tmp/tfvenv/bin/python tests/data/drfc_model/make_fixture.py

Each is a frozen clipped-PPO policy graph as simapp leaves them in a DRfC model folder (a TF
compat.v1 graph, its variables turned into constants by graph_util.convert_variables_to_constants,
the names the car reads): input main_level/agent/main/online/network_0/FRONT_FACING_CAMERA/
FRONT_FACING_CAMERA, float [-1, 120, 160, 1] of raw grey values divided by 255 in the graph;
output main_level/agent/main/online/network_1/ppo_head_0/policy, the softmax over the 5 actions
of model/model_metadata.json. The network is deliberately small (two convs of 4 and 8 filters,
one dense layer to the head) so the two files stay a few tens of kB; weights are random (seeded
per file), so the two files differ. outputs.npz: 3 fixed uint8 frames and TF's outputs of each
graph for them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf

HERE = Path(__file__).parent
INPUT = "main_level/agent/main/online/network_0/FRONT_FACING_CAMERA/FRONT_FACING_CAMERA"
OUTPUT = "main_level/agent/main/online/network_1/ppo_head_0/policy"
SCOPE = "main_level/agent/main/online/network_1"


def frozen(seed: int) -> bytes:
    tf1 = tf.compat.v1
    rng = np.random.default_rng(seed)

    def var(name, shape, scale):
        return tf1.get_variable(name, initializer=(rng.standard_normal(shape) * scale)
                                .astype(np.float32))

    graph = tf.Graph()
    with graph.as_default():
        x = tf1.placeholder(tf.float32, [None, 120, 160, 1], name=INPUT)
        with tf1.variable_scope(f"{SCOPE}/FRONT_FACING_CAMERA"):
            h = x / 255.0
            for i, (filters, k, s, cin) in enumerate(((4, 8, 4, 1), (8, 4, 2, 4))):
                with tf1.variable_scope(f"Conv2d_{2 * i}"):
                    kernel = var("kernel", (k, k, cin, filters), 0.2)
                    bias = var("bias", (filters,), 0.1)
                    h = tf.nn.relu(tf.nn.bias_add(
                        tf.nn.conv2d(h, kernel, [1, s, s, 1], "VALID"), bias))
            h = tf.reshape(h, [-1, 13 * 18 * 8])
        with tf1.variable_scope(f"{SCOPE}/ppo_head_0/policy_fc"):
            logits = tf.matmul(h, var("kernel", (13 * 18 * 8, 5), 0.05)) + var("bias", (5,), 0.1)
        tf.nn.softmax(logits, name=OUTPUT)
        with tf1.Session(graph=graph) as sess:
            sess.run(tf1.global_variables_initializer())
            gd = tf1.graph_util.convert_variables_to_constants(sess, graph.as_graph_def(),
                                                               [OUTPUT])
    return gd.SerializeToString()


def run(data: bytes, frames: np.ndarray) -> np.ndarray:
    gd = tf.compat.v1.GraphDef()
    gd.ParseFromString(data)
    with tf.Graph().as_default() as g:
        tf.import_graph_def(gd, name="")
        with tf.compat.v1.Session(graph=g) as sess:
            return sess.run(f"{OUTPUT}:0", {f"{INPUT}:0": frames})


def main() -> None:
    frames = np.random.default_rng(0).integers(0, 256, (3, 120, 160, 1)).astype(np.uint8)
    outputs = {"frames": frames}
    for number in (2, 5):
        data = frozen(number)
        (HERE / "model" / f"model_{number}.pb").write_bytes(data)
        outputs[f"model_{number}"] = run(data, frames.astype(np.float32))
    np.savez_compressed(HERE / "outputs.npz", **outputs)


if __name__ == "__main__":
    main()
