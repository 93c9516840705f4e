"""``xception-lite``: the Xception design (Chollet, 2017) scaled down for a laptop CPU.

Keras' ``keras.applications.Xception`` has no width or depth setting (its 20.9 M parameters and
71 x 71 minimum cost hours per epoch on two CPU cores), so this builds the same design from Keras
layers with the widths and depth of the recipe's ``[network]`` table:

    input (native 80 x 60, already scaled to [-1, 1])
    stem    Conv 3x3 stride 2 (stem[0]) - BN - ReLU - Conv 3x3 (stem[1]) - BN - ReLU
    entry   per width f: residual = Conv 1x1 stride 2 (f) - BN;
            [ReLU] - SepConv 3x3 (f) - BN - ReLU - SepConv 3x3 (f) - BN - MaxPool 3x3 stride 2; add
    middle  middle_blocks x: residual = x; 3 x (ReLU - SepConv 3x3 - BN); add
    exit    residual = Conv 1x1 stride 2 (exit[1]) - BN;
            ReLU - SepConv (exit[0]) - BN - ReLU - SepConv (exit[1]) - BN - MaxPool stride 2; add;
            then per remaining width: SepConv - BN - ReLU
    squeeze_excite = r > 0: each residual block's branch, before its add, is scaled per channel by
            GlobalAvgPool - Dense (channels / r, at least 8, ReLU) - Dense (channels, sigmoid)

Batch normalisation keeps its running statistics with momentum 0.9 (Keras' default is 0.99):
they must settle within the few hundred steps a small catalog gives (the bundled sample's 1,000
products make about 10 steps per epoch); at 0.99 a model trained on it for 8 epochs predicted at
chance in inference mode (test accuracy 4.6 % articleType) while at 0.9 it reached 62 %.

As in Xception: batch normalisation after every convolution, no bias before it, the first entry
block without the ReLU in front (it follows the stem's), residual 1x1 strided projections.  The
backbone is a nested ``keras.Model`` named ``xception_lite`` whose output is the last feature
map; the heads pool it (global average pooling), exactly as on the Keras Xception backbone, so the
heads-only retraining, the feature cache and the embeddings work on either unchanged.
"""

from __future__ import annotations

import keras
from keras import layers

from fashion_review.modeling.recipes import Network

NAME = "xception_lite"
BN_MOMENTUM = 0.9


def build_lite_backbone(network: Network, input_hw: tuple[int, int]) -> keras.Model:
    """The lite backbone for float inputs of ``input_hw`` x 3 (randomly initialised)."""
    h, w = input_hw
    inputs = keras.Input(shape=(h, w, 3), name="lite_input")
    x = inputs
    for i, filters in enumerate(network.stem, start=1):
        x = layers.Conv2D(filters, 3, strides=2 if i == 1 else 1, padding="same", use_bias=False,
                          name=f"stem_conv{i}")(x)
        x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"stem_conv{i}_bn")(x)
        x = layers.Activation("relu", name=f"stem_conv{i}_act")(x)

    se = network.squeeze_excite
    for b, filters in enumerate(network.entry, start=1):
        x = _strided_block(x, filters, filters, f"entry{b}", relu_first=b > 1, se=se)

    width = network.entry[-1]
    for b in range(1, network.middle_blocks + 1):
        residual = x
        for k in range(1, 4):
            x = layers.Activation("relu", name=f"middle{b}_sepconv{k}_act")(x)
            x = _sepconv_bn(x, width, f"middle{b}_sepconv{k}")
        x = _squeeze_excite(x, width, se, f"middle{b}")
        x = layers.Add(name=f"middle{b}_add")([x, residual])

    x = _strided_block(x, network.exit[0], network.exit[1], "exit1", relu_first=True, se=se)
    for k, filters in enumerate(network.exit[2:], start=1):
        x = _sepconv_bn(x, filters, f"exit2_sepconv{k}")
        x = layers.Activation("relu", name=f"exit2_sepconv{k}_act")(x)
    return keras.Model(inputs, x, name=NAME)


def _sepconv_bn(x, filters: int, name: str):  # noqa: ANN001, ANN202
    x = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False, name=name)(x)
    return layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_bn")(x)


def _squeeze_excite(x, channels: int, ratio: int, name: str):  # noqa: ANN001, ANN202
    """``x`` scaled per channel by a gate computed from its own global average (ratio 0: ``x``)."""
    if not ratio:
        return x
    g = layers.GlobalAveragePooling2D(keepdims=True, name=f"{name}_se_squeeze")(x)
    g = layers.Dense(max(8, channels // ratio), activation="relu", name=f"{name}_se_reduce")(g)
    g = layers.Dense(channels, activation="sigmoid", name=f"{name}_se_expand")(g)
    return layers.Multiply(name=f"{name}_se_scale")([x, g])


def _strided_block(x, first: int, second: int, name: str, *, relu_first: bool, se: int = 0):  # noqa: ANN001, ANN202
    residual = layers.Conv2D(second, 1, strides=2, padding="same", use_bias=False, name=f"{name}_residual")(x)
    residual = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_residual_bn")(residual)
    if relu_first:
        x = layers.Activation("relu", name=f"{name}_sepconv1_act")(x)
    x = _sepconv_bn(x, first, f"{name}_sepconv1")
    x = layers.Activation("relu", name=f"{name}_sepconv2_act")(x)
    x = _sepconv_bn(x, second, f"{name}_sepconv2")
    x = layers.MaxPooling2D(3, strides=2, padding="same", name=f"{name}_pool")(x)
    x = _squeeze_excite(x, second, se, name)
    return layers.Add(name=f"{name}_add")([x, residual])
