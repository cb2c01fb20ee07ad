"""Writes the TensorFlow checkpoints in this folder with real TensorFlow (run once, by hand):

    python -m venv /tmp/tfvenv && /tmp/tfvenv/bin/pip install tensorflow-cpu==2.15.1
    /tmp/tfvenv/bin/python tests/data/tf_checkpoint/make_fixture.py [FOLDER ...]

(no FOLDER: all of them; the output is deterministic, seeded per folder).

It builds DeepRacer's clipped-PPO graph as deepracer-simapp 6 builds it with its rl_coach fork
(TF compat.v1 graph, reference variables, Keras layers named by Coach):

    main_level/agent/main/online/network_{0,1}/
        <SENSOR>/Conv2d_0, Conv2d_2, ... Dense_<k> ...   input embedder (a ReLU between layers:
                                                          BatchnormActivationDropout_<odd>)
        middleware_fc_embedder/Dense_0, Dense_2, ...
        network_0: v_values_head_0/output               the value head
        network_1: ppo_head_0/policy_fc (discrete)      softmax -> .../ppo_head_0/policy
                   ppo_head_0/policy_mean, policy_log_std (continuous)

(rl_coach: general_network.py, embedders/embedder.py, middlewares/fc_middleware.py,
heads/ppo_head.py, v_head.py; simapp: markov/sensors/utils.py,
architecture/custom_architectures.py).
Coach's embedder applies each scheme layer to the previous layer's output and flattens only at
the end, so the camera embedder's Dense layers act on every position of the last conv map.

Every variable gets random values (biases too), then a few fixed uint8 images go through the
graph; TF's outputs are saved next to the checkpoint (outputs.npz: the images, each conv
layer's output, the policy's outputs) for the torch comparison, and what TF's own checkpoint
reader finds in the files (manifest.json) for checking drtui's reader.

  shallow/  DEEP_CONVOLUTIONAL_NETWORK_SHALLOW, FRONT_FACING_CAMERA 44x44 (last conv map 2x2x64),
            5 discrete actions. To stay small it keeps only what the policy needs: network_1
            (camera embedder, middleware, ppo_head_0) and network_0's value head.
  deep/     DEEP_CONVOLUTIONAL_NETWORK, FRONT_FACING_CAMERA 21x21 (last conv map 1x1), continuous
            (steering, speed): the whole online graph, both networks, Adam slots of the heads,
            global_step, as Coach saves them.
  deep_map/  DEEP_CONVOLUTIONAL_NETWORK, FRONT_FACING_CAMERA 25x29 (last conv map 2x3x64, so
            the Dense 64 acts at 6 positions and the middleware takes 2*3*64 inputs), 5
            discrete actions; network_1 and network_0's value head.
  deep_deep/  DEEP_CONVOLUTIONAL_NETWORK_DEEP, FRONT_FACING_CAMERA 76x92 (last conv map 1x2x64,
            dense 512, 512 at both positions, middleware 1*2*512 -> 256 -> 128), continuous;
            network_1 and network_0's value head.
  sac/      two variables of a SAC model (a 4 -> 2 policy_mean), for the refusal.

deep_map and deep_deep are large (512x512 kernels): their weights are random multiples of a
per-tensor step (9 levels), which compresses, and their data file is stored gzipped
(model/*.data-00000-of-00001.gz; the tests unpack it into a temporary folder). Their
outputs.npz holds the last conv map and the last dense layer's map (both NHWC) instead of every
conv layer.
"""

from __future__ import annotations

import gzip
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

tf.compat.v1.disable_eager_execution()
tf.compat.v1.disable_resource_variables()

HERE = Path(__file__).resolve().parent
ONLINE = "main_level/agent/main/online"

NETWORKS = {  # camera (conv [filters, kernel, stride], dense units), middleware units
    "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW": ([(32, 8, 4), (64, 4, 2), (64, 3, 1)], [], [512]),
    "DEEP_CONVOLUTIONAL_NETWORK": ([(32, 5, 2), (32, 3, 1), (64, 3, 2), (64, 3, 1)], [64], [512]),
    "DEEP_CONVOLUTIONAL_NETWORK_DEEP": ([(32, 8, 4), (32, 4, 2), (64, 4, 2), (64, 3, 1)],
                                        [512, 512], [256, 128]),
}


def embedder(x, name, shape, convs, dense):
    """Coach's InputEmbedder: its placeholder (network_0's, reused by network_1), input / 255,
    then each layer + ReLU, flatten at the end."""
    with tf.compat.v1.variable_scope(name):
        if x is None:
            x = tf.compat.v1.placeholder("float", [None, *shape], name=name)
        h = x / 255.0
        h -= 0.0
        layers, idx = [], 0
        for filters, kernel, stride in convs:
            h = tf.keras.layers.Conv2D(filters, kernel, stride, data_format="channels_last",
                                       name=f"Conv2d_{idx}")(h)
            h = tf.nn.relu(h, name=f"BatchnormActivationDropout_{idx + 1}_activation")
            layers.append(h)
            idx += 2
        for units in dense:  # on the 4-D map: Keras Dense acts on the last axis
            h = tf.keras.layers.Dense(units, name=f"Dense_{idx}")(h)
            h = tf.nn.relu(h, name=f"BatchnormActivationDropout_{idx + 1}_activation")
            layers.append(h)
            idx += 2
        return x, tf.keras.layers.Flatten()(h), layers


def middleware(x, units):
    with tf.compat.v1.variable_scope("middleware_fc_embedder"):
        for i, u in enumerate(units):
            x = tf.keras.layers.Dense(u, name=f"Dense_{2 * i}")(x)
            x = tf.nn.relu(x, name=f"BatchnormActivationDropout_{2 * i + 1}_activation")
        return x


def build(network, sensor, shape, actions):
    """The online clipped-PPO graph; returns the tensors the fixture records."""
    convs, dense, mw = NETWORKS[network]
    out = {}
    with tf.compat.v1.variable_scope(ONLINE):
        x = None
        for net_idx in (0, 1):
            with tf.compat.v1.variable_scope(f"network_{net_idx}"):
                x, emb, maps = embedder(x, sensor, shape, convs, dense)
                state = middleware(tf.concat([emb], axis=-1, name="merger"), mw)
                tf.compat.v1.get_variable("gradients_from_head_0-0_rescalers", initializer=1.0,
                                          trainable=False)
                if net_idx == 0:
                    with tf.compat.v1.variable_scope("v_values_head_0"):
                        out["value"] = tf.keras.layers.Dense(1, name="output")(state)
                    continue
                out["convs"], out["dense"] = maps[:len(convs)], maps[len(convs):]
                with tf.compat.v1.variable_scope("ppo_head_0"):
                    if isinstance(actions, int):
                        logits = tf.keras.layers.Dense(actions, name="policy_fc")(state)
                        out["logits"] = logits
                        out["policy"] = tf.nn.softmax(logits, name="policy")
                    else:
                        n = len(actions)
                        out["mean"] = tf.identity(
                            tf.keras.layers.Dense(n, name="policy_mean")(state), name="policy")
                        out["log_std"] = tf.Variable(np.zeros((1, n)), dtype="float32",
                                                     name="policy_log_std")
    return x, out


def randomise(sess, rng, levels=None):
    """Random values for every variable (TF's init leaves biases at zero, which would hide a
    bias mapping error); with levels, random multiples of a per-tensor step (-levels..levels),
    which compress."""
    for v in tf.compat.v1.global_variables():
        shape = v.shape.as_list()
        if "rescalers" in v.op.name or v.dtype.base_dtype not in (tf.float32,):
            continue
        fan_in = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
        scale = 1.0 / np.sqrt(max(fan_in, 1))
        if levels:
            value = rng.integers(-levels, levels + 1, size=shape) * (1.5 * scale / levels)
            if v.op.name.endswith("/bias"):
                value = rng.integers(-levels, levels + 1, size=shape) * (0.1 / levels)
        else:
            value = rng.normal(0.0, scale, size=shape)
            if v.op.name.endswith("/bias"):
                value = rng.uniform(-0.1, 0.1, size=shape)
        v.load(value.astype(np.float32), sess)


def metadata(network, sensor, actions):
    meta = {"neural_network": network, "sensor": [sensor], "training_algorithm": "clipped_ppo",
            "version": "5"}
    if isinstance(actions, int):
        meta["action_space_type"] = "discrete"
        meta["action_space"] = [{"steering_angle": -30 + 15 * i, "speed": 1.0, "index": i}
                                for i in range(actions)]
    else:
        meta["action_space_type"] = "continuous"
        meta["action_space"] = {"steering_angle": {"low": -30.0, "high": 30.0},
                                "speed": {"low": 0.5, "high": 2.0}}
    return meta


def make(name, network, shape, actions, keep, extras, step=(3, 1234), seed=0, levels=None,
         n_images=4, every_conv=True):
    tf.compat.v1.reset_default_graph()
    rng = np.random.default_rng(seed)
    sensor = "FRONT_FACING_CAMERA"
    x, out = build(network, sensor, shape, actions)
    if extras:  # what Coach also saves: a global step and the optimizer's slots
        global_step = tf.compat.v1.train.get_or_create_global_step()
        heads = [v for v in tf.compat.v1.trainable_variables() if "_head_0/" in v.op.name]
        loss = sum(tf.reduce_sum(v) for v in heads)
        tf.compat.v1.train.AdamOptimizer(1e-4).minimize(loss, var_list=heads,
                                                       global_step=global_step)
    images = rng.integers(0, 256, size=(n_images, *shape), dtype=np.uint8)
    with tf.compat.v1.Session() as sess:
        sess.run(tf.compat.v1.global_variables_initializer())
        randomise(sess, rng, levels)
        if extras:
            global_step.load(step[1], sess)
        fetch = {k: v for k, v in out.items() if k not in ("convs", "dense")}
        values = sess.run(fetch, {x: images.astype(np.float32)})
        convs, dense = sess.run([out["convs"], out["dense"]], {x: images.astype(np.float32)})
        variables = [v for v in tf.compat.v1.global_variables() if keep(v.op.name)]
        folder = HERE / name / "model"
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.iterdir():
            old.unlink()
        ckpt = f"{step[0]}_Step-{step[1]}.ckpt"
        tf.compat.v1.train.Saver(variables).save(sess, str(folder / ckpt),
                                                 write_meta_graph=False, write_state=False)
    (folder / ".coach_checkpoint").write_text(ckpt)
    (folder / "deepracer_checkpoints.json").write_text(json.dumps({
        "best_checkpoint": {"name": ckpt, "avg_eval_metric": 42.0, "time_stamp": 100.0},
        "last_checkpoint": {"name": ckpt, "avg_eval_metric": 42.0, "time_stamp": 100.0}}))
    (folder / "model_metadata.json").write_text(json.dumps(metadata(network, sensor, actions),
                                                           indent=2))
    manifest(folder / ckpt)
    if every_conv:
        record = {"images": images, **{f"conv{i}": c for i, c in enumerate(convs)}}
    else:
        record = {"images": images, "conv_last": convs[-1], "dense_last": dense[-1]}
    if levels:  # stored gzipped: see the module docstring
        data = folder / f"{ckpt}.data-00000-of-00001"
        with open(data, "rb") as src, gzip.GzipFile(f"{data}.gz", "wb", mtime=0) as dst:
            shutil.copyfileobj(src, dst)
        data.unlink()
    record.update({k: np.asarray(v, np.float32) for k, v in values.items()})
    np.savez_compressed(HERE / name / "outputs.npz", **record)
    print(name, sorted(v.op.name for v in variables))


def manifest(prefix):
    """What TensorFlow's own reader finds in the checkpoint: name -> shape, dtype, sum and the
    first values, for checking drtui's reader."""
    reader = tf.train.load_checkpoint(str(prefix))
    out = {}
    for name, shape in sorted(reader.get_variable_to_shape_map().items()):
        value = reader.get_tensor(name)
        out[name] = {"shape": list(shape), "dtype": str(value.dtype),
                     "sum": float(np.sum(value, dtype=np.float64)),
                     "first": [float(v) for v in np.ravel(value)[:3]]}
    (prefix.parent.parent / "manifest.json").write_text(json.dumps(out, indent=1) + "\n")


def make_sac():
    """A few of a SAC model's variable names (tiny shapes): what transfer must refuse."""
    tf.compat.v1.reset_default_graph()
    with tf.compat.v1.variable_scope("main_level/agent/policy/online/network_0"):
        x = tf.compat.v1.placeholder("float", [None, 4], name="LIDAR")
        with tf.compat.v1.variable_scope("sac_policy_head_0"):
            tf.keras.layers.Dense(2, name="policy_mean")(x)
    folder = HERE / "sac" / "model"
    folder.mkdir(parents=True, exist_ok=True)
    with tf.compat.v1.Session() as sess:
        sess.run(tf.compat.v1.global_variables_initializer())
        tf.compat.v1.train.Saver().save(sess, str(folder / "1_Step-10.ckpt"),
                                        write_meta_graph=False, write_state=False)


def policy_and_value(name):
    return "/network_1/" in name or "v_values_head_0" in name


FIXTURES = {
    "sac": make_sac,
    "shallow": lambda: make("shallow", "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW", (44, 44, 1), 5,
                            keep=policy_and_value, extras=False),
    "deep": lambda: make("deep", "DEEP_CONVOLUTIONAL_NETWORK", (21, 21, 1),
                         ("steering_angle", "speed"), keep=lambda n: True, extras=True,
                         step=(7, 4321), seed=1),
    "deep_map": lambda: make("deep_map", "DEEP_CONVOLUTIONAL_NETWORK", (25, 29, 1), 5,
                             keep=policy_and_value, extras=False, step=(4, 2222), seed=2,
                             levels=4, n_images=3, every_conv=False),
    "deep_deep": lambda: make("deep_deep", "DEEP_CONVOLUTIONAL_NETWORK_DEEP", (76, 92, 1),
                              ("steering_angle", "speed"), keep=policy_and_value, extras=False,
                              step=(9, 9876), seed=3, levels=4, n_images=3, every_conv=False),
}


def main():
    for name in sys.argv[1:] or FIXTURES:
        FIXTURES[name]()


if __name__ == "__main__":
    main()
