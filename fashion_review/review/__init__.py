"""Analysis over predictions and labels (no Qt, no TensorFlow): metrics, rankings, similarity."""
