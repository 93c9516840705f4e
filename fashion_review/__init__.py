"""fashion_review: review and correct the labels of a fashion catalog with Xception classifiers.

The package is layered (see README, "Architecture"): ``data`` and ``review`` are plain Python
(no Qt, no TensorFlow), ``modeling`` and ``training`` use Keras 3, and only ``gui`` imports Qt.
"""

__version__ = "0.1.0"
